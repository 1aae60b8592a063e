/*
 * harness/results/value.h - the measured | modeled | unavailable value of a row, in one place.
 * Every number a row gives says what it is: measured (a clock, /proc, a counter in this run),
 * modeled (a formula, named in "how"), derived (arithmetic on those) or unavailable (with the
 * reason; never 0).  In JSON a value is an object {"status": ..., ...}; an unavailable one is
 * {"status": "unavailable", "reason": "..."} or, where the slot has a value member,
 * {"status": "unavailable", "value": null, "reason": "..."}.  Writers make them here and
 * readers ask here, so the shapes cannot drift apart.
 */
#ifndef BITBENCH_VALUE_H
#define BITBENCH_VALUE_H

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    BB_VALUE_ABSENT,      /* null, absent or not a value object */
    BB_VALUE_MEASURED,
    BB_VALUE_MODELED,
    BB_VALUE_DERIVED,
    BB_VALUE_UNAVAILABLE,
} bb_value_status;

const char *bb_value_status_name(bb_value_status s); /* "measured", ...; "absent" */

/* {"status": "unavailable", "reason": reason} */
json_t *bb_value_unavailable(const char *reason);
/* {"status": "unavailable", "value": null, "reason": reason}: a slot that has a value member */
json_t *bb_value_unavailable_value(const char *reason);

/* The status of a value object (BB_VALUE_ABSENT when o is not one). */
bb_value_status bb_value_status_of(const json_t *o);
/* The reason of an unavailable value, NULL otherwise. */
const char *bb_value_reason(const json_t *o);

#endif
