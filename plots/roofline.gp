# plots/roofline.gp - how close each kernel gets to the machine's measured read bandwidth:
# achieved GOP/s against operations per weight byte (the bandwidth roof is ceiling x
# intensity), and achieved GB/s of weights per model size at batch 1.  When the rows carry
# compute roofs (sweep rows' compute_roofs, measured by in-register loops: harness/machine/roofs.h),
# the int8 dot-product, fp32 FMA and integer-add peaks are drawn as flat roofs beside it.
name = "roofline"; width = 1400; height = 650
load plots."common.gp"
load data."plotvars.gp"
r = data."roofline.dat"
bw = data."bandwidth.dat"

set multiplot layout 1, 2 title "Roofline: achieved rates vs the measured bandwidth ceiling  -  ".machine_title font ",13"

set lmargin at screen 0.06; set rmargin at screen 0.42
set title "GOP/s vs operations per weight byte (every measured row)"
set logscale xy
set xlabel "operations per weight byte streamed (2 x params x batch / bytes; log scale)"
set ylabel "GOP/s (derived from measured time; log scale)"
set key inside left top
roof(x) = have_ceiling ? bandwidth_ceiling * x : NaN
set samples 200
# Axes from the points, not from the roof line (which would run off to 1e6).
stats r using 3:4 nooutput
if (STATS_records > 0) {
    set xrange [STATS_min_x / 2 : STATS_max_x * 2]
    ymax = STATS_max_y * 5
    if (exists("roof_int8_dot")) {
        rmax = roof_int8_dot > roof_fp32_fma ? roof_int8_dot : roof_fp32_fma
        rmax = roof_int_add > rmax ? roof_int_add : rmax
        ymax = rmax * 2 > ymax ? rmax * 2 : ymax
    }
    set yrange [STATS_min_y / 3 : ymax]
}
if (!exists("roof_int8_dot")) { roof_int8_dot = 0; roof_fp32_fma = 0; roof_int_add = 0 }
croof(v, x) = v > 0 ? v : NaN
plot roof(x) with lines lw 2 dt 2 lc rgb "#555555" title sprintf("bandwidth roof: %.3g GB/s (measured)", bandwidth_ceiling), \
     croof(roof_int8_dot, x) with lines lw 1.5 dt 3 lc rgb "#aa3377" title (roof_int8_dot > 0 ? sprintf("int8 dot peak %.4g GOP/s (measured)", roof_int8_dot) : ""), \
     croof(roof_fp32_fma, x) with lines lw 1.5 dt 4 lc rgb "#4477aa" title (roof_fp32_fma > 0 ? sprintf("fp32 FMA peak %.4g GFLOP/s (measured)", roof_fp32_fma) : ""), \
     croof(roof_int_add, x) with lines lw 1.5 dt 5 lc rgb "#228833" title (roof_int_add > 0 ? sprintf("int add peak %.4g GOP/s (measured)", roof_int_add) : ""), \
     for [i=1:series_count] r index (i-1) using 3:5 with points pt PT_MEASURED ps 1.4 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] r index (i-1) using 3:6 with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb color_of(series[i]) notitle

set lmargin at screen 0.50; set rmargin at screen 0.76
set title "weight bandwidth at batch 1"
unset logscale y
set autoscale y
@set_size_axis
set yrange [0:*]
set ylabel "GB/s of weights (derived from measured time)"
set key outside right top
if (have_ceiling) {
    set arrow 1 from graph 0, first bandwidth_ceiling to graph 1, first bandwidth_ceiling nohead dt 2 lw 2 lc rgb "#555555"
    set label 1 sprintf("measured ceiling %.3g GB/s", bandwidth_ceiling) at graph 0.02, first bandwidth_ceiling offset 0, 0.7 tc rgb "#555555"
    set yrange [0:bandwidth_ceiling * 1.15]
}
plot for [i=1:series_count] bw index (i-1) using 2:3 with lines lw 2 lc rgb color_of(series[i]) title series[i], \
     for [i=1:series_count] bw index (i-1) using 2:4 with points pt PT_MEASURED ps 1.4 lc rgb color_of(series[i]) notitle, \
     for [i=1:series_count] bw index (i-1) using 2:5 with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb color_of(series[i]) notitle, \
     @key_measured_extrap
unset multiplot
