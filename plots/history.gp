# plots/history.gp - `bitbench history`: each key's median over successive result files,
# relative to its first file, with the detected step changes marked.
# Called as: gnuplot -e "datafile='history.dat'; stepsfile='history-steps.dat'; \
#                        outfile='history.png'; nkeys=N; nsteps=S" plots/history.gp
# history.dat holds one block per key (gnuplot index i), its first line the key (title);
# columns: file index, median (ns, or ratio when normalized), median / first median, file.
# history-steps.dat: file index, relative level after the step, change, key number.
if (!exists("datafile"))  datafile  = 'history.dat'
if (!exists("stepsfile")) stepsfile = 'history-steps.dat'
if (!exists("outfile"))   outfile   = 'history.png'
if (!exists("nkeys"))     nkeys     = 1
if (!exists("nsteps"))    nsteps    = 0

set terminal pngcairo size 1400,800 font ",9"
set output outfile
set title "bitbench history: median per result file, relative to the key's first file (measured)"
set xlabel "result file (oldest first)"
set ylabel "median / median in the first file"
set key outside right top noenhanced font ",8"
set grid ytics
set xtics rotate by -35 noenhanced
set datafile missing "NaN"
set style data linespoints

# Eight colours, then the next dash type: every key keeps a line of its own.
if (nsteps > 0) {
    plot for [i=0:nkeys-1] datafile index i using 1:3:xtic(4) title columnheader(1) \
             lc i % 8 + 1 dt i / 8 + 1 pt 7 ps 0.6, \
         stepsfile using 1:2 with points pt 6 ps 3 lw 2 lc rgb "red" title "step change"
} else {
    plot for [i=0:nkeys-1] datafile index i using 1:3:xtic(4) title columnheader(1) \
             lc i % 8 + 1 dt i / 8 + 1 pt 7 ps 0.6
}
