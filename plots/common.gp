# plots/common.gp - what every bitbench figure shares; each script sets name, width and
# height, then loads this file.  bitbench report runs the scripts as
#   gnuplot -e "plots='<this folder>/'; data='<out dir>/<prefix>'; shared='<out dir>/'; term_kind='png'" plots/<name>.gp
# (and again with term_kind='svg'), after writing <prefix>*.dat and <prefix>plotvars.gp.
# By hand: the same command on a folder that `bitbench report` wrote.

if (!exists("term_kind")) term_kind = "png"
if (!exists("data")) data = "./"
if (!exists("plots")) plots = "plots/"
if (!exists("shared")) shared = "./"

# noenhanced: host names and implementation names contain '_' and '^', which gnuplot's
# enhanced text would turn into subscripts and superscripts.
if (term_kind eq "svg") {
    set terminal svg size width, height dynamic noenhanced font "sans,13" background "white"
} else {
    if (strstrt(GPVAL_TERMINALS, " pngcairo ") > 0) {
        set terminal pngcairo size width, height noenhanced font "sans,11" background "white"
    } else {
        set terminal png size width, height noenhanced background "#ffffff"
    }
}
set output data.name.".".term_kind
set datafile missing "?"
set grid lc rgb "#dddddd"
set border lc rgb "#444444"
set key opaque box lw 0.5 spacing 1.1

# One colour per format, the same in every figure and on every machine.
color_of(f) = f eq "fp16" ? "#222222" : f eq "int8" ? "#1f77b4" : f eq "pot4" ? "#2ca02c" : \
              f eq "pot5" ? "#17becf" : f eq "pot6" ? "#bcbd22" : f eq "tern2" ? "#d62728" : \
              f eq "tern1.6" ? "#9467bd" : "#8c564b"
machine_color(i) = word("#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf", (i - 1) % 8 + 1)

# Point styles: measured filled, extrapolated open; the paper's GPU points are stars.
PT_MEASURED = 7
PT_EXTRAP = 6
PT_PAPER = 3
PAPER_COLOR = "#b8860b"

# Sizes on the x axis: log scale, ticks at the models' names.
set_size_axis = "set logscale x; set xrange [size_min:size_max]; set xtics nomirror; eval('set xtics '.xtics_models); set xlabel 'model size (parameters, billions; log scale)'"

# Every panel the same width whatever its legend holds: plot area left of 0.67, key right of it.
fixed_margins = "set lmargin at screen 0.09; set rmargin at screen 0.67; set key outside right top"
key_measured_extrap = 'keyentry with points pt PT_MEASURED ps 1.4 lc rgb "#666666" title "measured", keyentry with points pt PT_EXTRAP ps 1.8 lw 2 lc rgb "#666666" title "extrapolated (1 layer timed)"'
# A panel with nothing to draw says so (its title says why) instead of leaving a blank frame.
empty_panel = 'unset key; unset logscale; unset xtics; unset ytics; unset xlabel; unset ylabel; set xrange [0:1]; set yrange [0:1]; set label 98 "unavailable" at graph 0.5, graph 0.5 center font ",16" tc rgb "#aa0000"; plot NaN notitle; unset label 98; set xtics; set ytics'
