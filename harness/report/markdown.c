/* harness/report/markdown.c - small markdown pieces (markdown.h). */
#include "markdown.h"

void bb_md_code(FILE *to, const char *s)
{
    fputc('`', to);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', to);
        fputc(*s, to);
    }
    fputc('`', to);
}
