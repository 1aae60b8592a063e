/* harness/results/value.c - the measured | modeled | unavailable value (value.h). */
#include "value.h"

#include <string.h>

static const char *const names[] = {"absent", "measured", "modeled", "derived", "unavailable"};

const char *bb_value_status_name(bb_value_status s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "absent";
}

json_t *bb_value_unavailable(const char *reason)
{
    return json_pack("{s:s, s:s}", "status", "unavailable", "reason", reason);
}

json_t *bb_value_unavailable_value(const char *reason)
{
    return json_pack("{s:s, s:n, s:s}", "status", "unavailable", "value", "reason", reason);
}

bb_value_status bb_value_status_of(const json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "status"));
    for (size_t i = 1; s && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i]))
            return (bb_value_status)i;
    return BB_VALUE_ABSENT;
}

const char *bb_value_reason(const json_t *o)
{
    return bb_value_status_of(o) == BB_VALUE_UNAVAILABLE ? json_string_value(json_object_get(o, "reason")) : NULL;
}
