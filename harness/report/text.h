/* harness/report/text.h - small text pieces the report writers share: markdown code, gnuplot strings. */
#ifndef BITBENCH_REPORT_TEXT_H
#define BITBENCH_REPORT_TEXT_H

#include <stdio.h>

/* s as markdown code, '|' escaped so that a table keeps its columns (compare, history). */
void bb_md_code(FILE *to, const char *s);
/* s as a gnuplot single-quoted string (only the quote itself is doubled; newlines dropped). */
void bb_gp_string(FILE *f, const char *s);

#endif
