/* harness/results/formats.c - the weight formats as result files name them (formats.h). */
#include "formats.h"

#include <string.h>

const bb_result_format bb_result_formats[] = {
    {"fp16", "fp16"}, {"int8", "int8"},     {"pot4", "pot"},       {"pot5", "pot"},
    {"pot6", "pot"},  {"tern2", "ternary"}, {"tern1.6", "ternary"},
};
const size_t bb_result_format_count = sizeof bb_result_formats / sizeof bb_result_formats[0];

size_t bb_result_format_rank(const char *name)
{
    for (size_t i = 0; name && i < bb_result_format_count; i++)
        if (!strcmp(bb_result_formats[i].name, name))
            return i;
    return bb_result_format_count;
}

const char *bb_result_format_family(const char *name)
{
    size_t i = bb_result_format_rank(name);
    return i < bb_result_format_count ? bb_result_formats[i].family : "";
}
