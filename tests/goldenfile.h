/* tests/goldenfile.h - shared by the report tests: a text output held equal to a golden file. */
#ifndef BITBENCH_GOLDENFILE_H
#define BITBENCH_GOLDENFILE_H

/* got must equal the file golden (what names the output in the message: "REPORT.md");
 * with BITBENCH_UPDATE_GOLDEN set the file is rewritten first (read its diff before committing).
 * The first differing byte is shown with some context around it. */
void tu_assert_golden(const char *got, const char *golden, const char *what);

#endif
