/* harness/base/fmt.c - bounded text (fmt.h). */
#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>

void bb_fmt(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}
