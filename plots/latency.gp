# plots/latency.gp - the paper's Figure 2a on this machine: decode latency per token vs model
# size (log-log), one line per format, and the speed-up vs fp16 with the paper's GPU points.
name = "latency"; width = 1200; height = 950
load plots."common.gp"
load data."plotvars.gp"
f = data."latency.dat"
paper = data."paper.dat"

set multiplot layout 2, 1 title "Decode latency per token (whole step, batch 1)  -  ".machine_title font ",13"
@fixed_margins
@set_size_axis
set logscale y
set ylabel "latency per token, ms (measured; log scale)"
plot for [i=1:series_count] f index (i-1) using 2:3 with lines lw 2 lc rgb color_of(series[i]) title series[i], \
     for [i=1:series_count] f index (i-1) using 2:4 with points pt PT_MEASURED ps 1.4 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] f index (i-1) using 2:5 with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb color_of(series[i]) notitle, \
     @key_measured_extrap

unset logscale y
set ylabel "speed-up vs fp16 (x; paired, 95% interval as error bars)"
set yrange [0:*]
plot for [i=1:series_count] f index (i-1) using 2:6 with lines lw 2 lc rgb color_of(series[i]) title series[i], \
     for [i=1:series_count] f index (i-1) using 2:6:9:10 with yerrorbars pt 0 lw 1.5 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] f index (i-1) using 2:7 with points pt PT_MEASURED ps 1.4 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] f index (i-1) using 2:8 with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb color_of(series[i]) notitle, \
     paper index 0 using 2:3 with points pt PT_PAPER ps 2.5 lw 2 lc rgb PAPER_COLOR title "paper: b1.58 vs LLaMA (GPU)", \
     paper index 0 using 2:3:4 with labels left offset 1.5, 0 tc rgb PAPER_COLOR notitle
unset multiplot
