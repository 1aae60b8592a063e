/* harness/results/formats.h - the weight formats as result files name them: bitbench's order
 * and each format's family, for the analysis rooms, which read rows and know no kernel.
 * tests/test_results.c holds this list equal to the kernels' format table (kernels/kernel.h),
 * so a format added there without a row here fails make check. */
#ifndef BITBENCH_RESULT_FORMATS_H
#define BITBENCH_RESULT_FORMATS_H

#include <stddef.h>

typedef struct bb_result_format {
    const char *name;   /* as in rows' "format" */
    const char *family; /* "fp16", "int8", "pot", "ternary" */
} bb_result_format;

extern const bb_result_format bb_result_formats[];
extern const size_t bb_result_format_count;

/* The format's position in bitbench's order (fp16 first); bb_result_format_count for a name
 * this build does not know. */
size_t bb_result_format_rank(const char *name);
/* The format's family, "" for a name this build does not know. */
const char *bb_result_format_family(const char *name);

#endif
