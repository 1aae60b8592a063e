# plots/cross_machine.gp - the same ratio on several machines: speed-up vs fp16 per model size,
# one panel per format, one line per machine (m1, m2, ... named under the panels), with the
# paper's GPU points on the ternary panels.
name = "cross_machine"; width = 1400; height = 950
load plots."common.gp"
load shared."crossvars.gp"
f = shared."cross.dat"
paper = shared."paper.dat"

cols = cross_count < 3 ? cross_count : 3
rows = (cross_count + cols - 1) / cols
set multiplot layout rows, cols title "Speed-up vs fp16 across machines (decode, matmul only, batch 1; ratio of measured latencies)" font ",13" margins 0.06, 0.98, 0.20, 0.92 spacing 0.07, 0.12
@set_size_axis
set xlabel "model size (billions; log scale)"
set ylabel "speed-up vs fp16 (x)"
set yrange [0:*]
set offsets 0, 0, graph 0.35, 0
set key inside left top
# Who m1, m2, ... are, and the point styles, below the panels (screen labels: drawn once per
# panel at the same place).
do for [m=1:machine_count] {
    set label 100 + m sprintf("m%d: %s", m, machine_names[m]) at screen 0.06, screen 0.08 - 0.025 * (m - 1) tc rgb machine_color(m)
}
set label 99 "filled: measured;  open: extrapolated (1 layer timed)" at screen 0.70, screen 0.08
do for [k=1:cross_count] {
    set title cross_formats[k]
    is_ternary = strstrt(cross_formats[k], "tern") == 1
    plot for [m=1:machine_count] f index ((k-1)*machine_count + m-1) using 2:3 with lines lw 2 lc rgb machine_color(m) title sprintf("m%d", m), \
         for [m=1:machine_count] f index ((k-1)*machine_count + m-1) using 2:4 with points pt PT_MEASURED ps 1.3 lc rgb machine_color(m) notitle, \
         for [m=1:machine_count] f index ((k-1)*machine_count + m-1) using 2:5 with points pt PT_EXTRAP ps 1.7 lw 2 lc rgb machine_color(m) notitle, \
         paper index 0 using 2:(is_ternary ? $3 : NaN) with points pt PT_PAPER ps 2 lw 2 lc rgb PAPER_COLOR title (is_ternary ? "paper b1.58 (GPU)" : "")
}
unset multiplot
