/* harness/base/fmt.h - bounded text: snprintf that truncates on purpose (reasons, labels). */
#ifndef BITBENCH_FMT_H
#define BITBENCH_FMT_H

#include <stddef.h>

/* snprintf that may truncate on purpose (reasons are bounded text), without tripping
 * -Wformat-truncation at every call. */
void bb_fmt(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
