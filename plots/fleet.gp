# plots/fleet.gp - which CPU gains most from each format: for one model at batch 1 (the
# largest measured on two or more machines), per format a bar per machine - left the speed-up
# vs that machine's own fp16, right the share of that machine's own measured bandwidth ceiling.
# Data: fleet.dat and fleetvars.gp, written by bitbench report (harness/report/report_fleet.c).
name = "fleet"; width = 1400; height = 700
load plots."common.gp"
load shared."fleetvars.gp"
f = shared."fleet.dat"

set multiplot layout 1, 2 title sprintf("Across machines: %s, batch 1 - every machine against its own fp16 and its own bandwidth ceiling", fleet_have_model ? fleet_model : "no model on two machines") font ",13" margins 0.06, 0.98, 0.12 + 0.03 * fleet_machine_count, 0.88 spacing 0.08, 0.1
set style fill solid 0.85 border lc rgb "#333333"
set boxwidth 0.8 / fleet_machine_count absolute
set xrange [0.4 : fleet_format_count + 0.6]
eval('set xtics '.fleet_xtics)
set xtics nomirror
set yrange [0:*]
set key off
# The machine of every colour, once, below the panels (screen labels).
do for [m=1:fleet_machine_count] {
    set label 100 + m fleet_machines[m] at screen 0.06, screen 0.03 * (fleet_machine_count - m + 1) tc rgb machine_color(m)
}
set label 99 "solid: measured; hatched: extrapolated (1 layer timed)" at screen 0.70, screen 0.03
off(m) = (m - (fleet_machine_count + 1) / 2.0) * 0.8 / fleet_machine_count

set title "speed-up vs fp16 (its fp16 latency / the format's; measured)"
set ylabel "x"
plot for [m=1:fleet_machine_count] f index (m-1) using ($1 + off(m)):3 with boxes lc rgb machine_color(m) notitle, \
     for [m=1:fleet_machine_count] f index (m-1) using ($1 + off(m)):4 with boxes fs pattern 4 lc rgb machine_color(m) notitle, \
     1 with lines dt 2 lc rgb "#555555" notitle

set title "% of the machine's bandwidth ceiling (weight GB/s / measured read GB/s)"
set ylabel "%"
plot for [m=1:fleet_machine_count] f index (m-1) using ($1 + off(m)):5 with boxes lc rgb machine_color(m) notitle, \
     for [m=1:fleet_machine_count] f index (m-1) using ($1 + off(m)):6 with boxes fs pattern 4 lc rgb machine_color(m) notitle, \
     100 with lines dt 2 lc rgb "#555555" notitle
unset multiplot
