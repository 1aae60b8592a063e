/*
 * harness/probe/energy_backend.h - what an energy backend gives the energy core (energy.c),
 * and the core's helpers the backends use.  One file per backend: energy_powercap.c,
 * energy_perf.c, energy_papi.c, energy_hwmon.c (its own header, energy_hwmon.h).  Internal
 * to probe/ (and the tests); callers use energy.h.
 *
 * A backend's open fills e->dom (each domain read once) and returns true, or false with
 * why; its read gives every domain's raw counter (a failed one gets its error in err[i],
 * which the core has emptied); release gives back what open took.
 */
#ifndef BITBENCH_ENERGY_BACKEND_H
#define BITBENCH_ENERGY_BACKEND_H

#include "energy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the core's helpers (energy.c) ---- */
/* A small file's text through opts.open_file (tests) or open(2); 0 or -errno. */
int bb_energy_read_file(const bb_energy *e, const char *path, char *buf, size_t len);
/* Appends "; text" (or "text" to an empty dst), dropping what does not fit. */
void bb_energy_append(char *dst, size_t cap, const char *text);
/* The file's text, trimmed and shortened for a message (in place). */
char *bb_energy_shown(char *text);

/* ---- the RAPL backends ---- */
bool bb_powercap_open(bb_energy *e, char *why, size_t len);
void bb_powercap_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN]);

bool bb_perf_energy_open(bb_energy *e, char *why, size_t len);
void bb_perf_energy_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN]);
void bb_perf_energy_release(bb_energy *e);

bool bb_papi_energy_open(bb_energy *e, char *why, size_t len);
void bb_papi_energy_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN]);
void bb_papi_energy_release(bb_energy *e);

#endif
