# plots/memory.gp - the paper's Figure 2b on this machine's catalogue: weight memory vs model
# size per format (modeled), and the reduction vs fp16 with the paper's GPU points.
name = "memory"; width = 1200; height = 950
load plots."common.gp"
load data."plotvars.gp"
f = data."memory.dat"
paper = data."paper.dat"

set multiplot layout 2, 1 title "Weight memory (modeled: bits per weight incl. scales x parameters + fp16 embedding and LM head)\n".machine_title font ",13"
@fixed_margins
@set_size_axis
set logscale y
set ylabel "weight memory, GB (modeled; log scale)"
plot for [i=1:series_count] f index (i-1) using 2:3 with linespoints lw 2 pt PT_MEASURED ps 1.3 lc rgb color_of(series[i]) title series[i]

unset logscale y
set ylabel "reduction vs fp16 (x; fp16 bytes / format bytes)"
set yrange [0:*]
plot for [i=1:series_count] f index (i-1) using 2:4 with linespoints lw 2 pt PT_MEASURED ps 1.3 lc rgb color_of(series[i]) title series[i], \
     paper index 1 using 2:3 with points pt PT_PAPER ps 2.5 lw 2 lc rgb PAPER_COLOR title "paper: b1.58 vs LLaMA (GPU memory)", \
     paper index 1 using 2:3:4 with labels left offset 1.5, 0 tc rgb PAPER_COLOR notitle
unset multiplot
