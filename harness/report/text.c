/* harness/report/text.c - small text pieces of the report writers (text.h). */
#include "text.h"

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

void bb_gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s != '\n')
            fputc(*s, f);
    }
    fputc('\'', f);
}
