# plots/throughput.gp - the paper's Table 3 on this machine: tokens/s at the largest batch
# whose weights and KV cache fit the memory budget, per format (bars), and tokens/s vs batch.
name = "throughput"; width = 1400; height = 650
load plots."common.gp"
load data."plotvars.gp"
t3 = data."table3.dat"
b = data."batch.dat"

set multiplot layout 1, 2 title "Throughput (matmul only)  -  ".machine_title font ",13"

# Left: bars, filled when measured, hatched when extrapolated; the batch is written on each.
set lmargin at screen 0.07; set rmargin at screen 0.47
set title (strlen(table3_model) ? table3_model." at the largest batch under the memory budget (seq 512)" : "Table 3: unavailable (no budget-batch rows)").(strlen(paper_table3) ? "\n".paper_table3 : "")
set ylabel "tokens/s at that batch (measured)"
set xlabel "format (bar label: the budget batch, modeled)"
set xrange [-0.6:series_count - 0.4]
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0  # room for the bar labels and the key above the tallest bar
set xtics nomirror ()
do for [i=1:series_count] { set xtics add (series[i] i - 1) }
set boxwidth 0.6
set key inside right top
if (strlen(table3_model)) {
    plot for [i=1:series_count] t3 using ($1 == i - 1 ? $1 : NaN):4 with boxes fill solid 0.85 border lc rgb "#333333" lc rgb color_of(series[i]) notitle, \
         for [i=1:series_count] t3 using ($1 == i - 1 ? $1 : NaN):5 with boxes fill pattern 4 border lc rgb "#333333" lc rgb color_of(series[i]) notitle, \
         t3 using 1:3:6 with labels offset 0, 0.8 font ",10" notitle, \
         t3 using 1:($7 == 1 ? 0 : NaN):6 with labels rotate by 90 left offset 0, 0.5 font ",10" tc rgb "#aa0000" notitle, \
         keyentry with boxes fill solid 0.85 lc rgb "#888888" title "measured", \
         keyentry with boxes fill pattern 4 lc rgb "#888888" title "extrapolated (1 layer timed)"
} else {
    @empty_panel
}

# Right: tokens/s vs batch, log-log.
set lmargin at screen 0.56; set rmargin at screen 0.76
set title (strlen(batch_model) ? batch_model.": tokens/s vs batch (list batches and the budget batch)" : "tokens/s vs batch: unavailable (one batch size only)")
set logscale xy
set autoscale x
set offsets 0, 0, 0, 0
set xtics auto
set yrange [*:*]
set xlabel "batch (sequences decoded together; log scale)"
set ylabel "tokens/s (measured; log scale)"
set key outside right top
if (strlen(batch_model)) {
    plot for [i=1:series_count] b index (i-1) using 1:2 with lines lw 2 lc rgb color_of(series[i]) title series[i], \
         for [i=1:series_count] b index (i-1) using 1:3 with points pt PT_MEASURED ps 1.4 lc rgb color_of(series[i]) notitle, \
         for [i=1:series_count] b index (i-1) using 1:4 with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb color_of(series[i]) notitle, \
         @key_measured_extrap
} else {
    @empty_panel
}
unset multiplot
