/*
 * harness/report/report_fleet.h - the fleet part of `bitbench report`: with rows from two or more
 * machines, one table per model (batch 1) that sets side by side, per format and machine, the
 * speed-up vs fp16 and the share of that machine's own bandwidth ceiling, with the machine that
 * gains most; and the data of its figure (plots/fleet.gp).  Each machine is compared with
 * itself only (its own fp16 row, its own measured ceiling), so CPUs of different sizes can sit
 * in one table: "which CPU gains most from ternary" is one glance.
 */
#ifndef BITBENCH_REPORT_FLEET_H
#define BITBENCH_REPORT_FLEET_H

#include "report.h"

#include <stddef.h>
#include <stdio.h>

/* The model of the figure: the largest with a measured batch-1 fp16 row on at least two
 * machines, else the largest with batch-1 rows on two; NULL when there is none (or one
 * machine). */
const char *bb_report_fleet_model(const bb_report *r);

/* The markdown section (nothing with fewer than two machines). */
void bb_report_fleet_markdown(const bb_report *r, FILE *out);

/* fleet.dat (a block per machine: a line per format) and fleetvars.gp into dir, for
 * plots/fleet.gp.  Nothing with fewer than two machines.  0, or -1 with why. */
int bb_report_fleet_data(const bb_report *r, const char *dir, char *why, size_t len);

#endif
