/* harness/report/markdown.h - small markdown pieces the tables share. */
#ifndef BITBENCH_MARKDOWN_H
#define BITBENCH_MARKDOWN_H

#include <stdio.h>

/* s as markdown code, '|' escaped so that a table keeps its columns (compare, history). */
void bb_md_code(FILE *to, const char *s);

#endif
