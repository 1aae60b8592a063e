# plots/energy.gp - the paper's Figure 3 on this machine: modeled arithmetic energy per token
# at 7 nm (solid) and 45 nm (dashed) per format and size, measured joules per token (RAPL)
# where measured, and the ratio to fp16 with the paper's points.
name = "energy"; width = 1200; height = 950
load plots."common.gp"
load data."plotvars.gp"
f = data."energy.dat"
paper = data."paper.dat"

set multiplot layout 2, 1 title "Energy per token: arithmetic modeled (op counts x Horowitz pJ/op), measured (RAPL) where available\n".machine_title font ",13"
@fixed_margins
@set_size_axis
set logscale y
set format y "%g"
set ylabel "energy per token, mJ (log scale)"
if (!have_energy_measured) {
    set label 1 "measured energy: unavailable: ".energy_note[1:80].(strlen(energy_note) > 80 ? "..." : "") at graph 0.02, graph 0.05 left front tc rgb "#aa0000" font ",10"
}
plot for [i=1:series_count] f index (i-1) using 2:3 with linespoints lw 2 pt PT_MEASURED ps 1.1 lc rgb color_of(series[i]) title series[i], \
     for [i=1:series_count] f index (i-1) using 2:4 with linespoints lw 2 dt 2 pt PT_MEASURED ps 0.8 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] f index (i-1) using 2:7 with points pt 13 ps 2.2 lc rgb color_of(series[i]) notitle, \
     keyentry with lines lw 2 lc rgb "#666666" title "modeled, 7 nm", \
     keyentry with lines lw 2 dt 2 lc rgb "#666666" title "modeled, 45 nm", \
     keyentry with points pt 13 ps 2.2 lc rgb "#666666" title "measured (RAPL, net)"
unset label 1

set ylabel "fp16 energy / format energy (x, modeled; log scale)"
if (have_paper && paper_matmul_ratio_7nm > 0) {
    set arrow 1 from graph 0, first paper_matmul_ratio_7nm to graph 1, first paper_matmul_ratio_7nm nohead dt 3 lw 2 lc rgb PAPER_COLOR
    set label 2 sprintf("paper: matmul only, 7 nm: %gx", paper_matmul_ratio_7nm) at graph 0.02, first paper_matmul_ratio_7nm offset 0, 0.7 tc rgb PAPER_COLOR
}
set yrange [0.8:*]
plot for [i=1:series_count] f index (i-1) using 2:5 with linespoints lw 2 pt PT_MEASURED ps 1.1 lc rgb color_of(series[i]) title series[i], \
     for [i=1:series_count] f index (i-1) using 2:6 with linespoints lw 2 dt 2 pt PT_MEASURED ps 0.8 lc rgb color_of(series[i]) notitle, \
     paper index 2 using 2:3 with points pt PT_PAPER ps 2.5 lw 2 lc rgb PAPER_COLOR title "paper: b1.58 end to end (secondary)", \
     paper index 2 using 2:3:4 with labels left offset 1.5, 0 tc rgb PAPER_COLOR notitle, \
     keyentry with lines lw 2 lc rgb "#666666" title "7 nm", \
     keyentry with lines lw 2 dt 2 lc rgb "#666666" title "45 nm"
unset multiplot
