/*
 * harness/probe/energy_hwmon.h - the hwmon energy backend (energy_hwmon.c) as energy.c sees it:
 * open, one reading, the headline rule and the JSON it adds (the core's helpers it uses:
 * energy_backend.h).  Internal to harness/ (and the tests); callers use energy.h.
 *
 * Which sensors (the rule the rows state):
 *   - every <root>/hwmonN chip except GPUs (amdgpu, radeon, nouveau, i915, xe: not the CPU);
 *   - energy counters (energyN_input, microjoules) when any chip has a readable one; power
 *     sensors are then left out.  A chip with socket counters (label with "socket",
 *     "package" or "pkg", e.g. amd_energy's and zenergy's Esocket0) gives those alone: its
 *     per-core counters (Ecore000...) lie inside them and are left out;
 *   - otherwise power sensors (powerN_input, else powerN_average, microwatts), integrated;
 *     an INA3221 without power attributes (the mainline driver, as on Jetson) gives each
 *     channel's power as its bus voltage inN_input (mV) x its current currN_input (mA);
 *   - a sensor's kind comes from its label: "psys" for a platform or board input (ACPI
 *     power_meter, labels with "total", "sys", "psys", "input", "vin" or ending "_in", such
 *     as Jetson's VDD_IN), "package" (socket/package/pkg; the socket is the label's number),
 *     "dram" (dimm/dram/ddr/mem), "core", else "rail";
 *   - headline: package + dram when there is a package sensor, else psys when there is one
 *     (the rails of a board lie inside its input), else every sensor (disjoint rails, such
 *     as Ampere Altra SMpro's core, SoC, DIMM and RCA VRDs).
 */
#ifndef BITBENCH_ENERGY_HWMON_H
#define BITBENCH_ENERGY_HWMON_H

#include "energy.h"
#include "energy_backend.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How often the sampler reads power sensors.  A sensor refreshes every few ms (INA3221)
 * to a second (BMC meters); reading faster than it refreshes costs little and keeps the
 * integration's bound small for the sensors that are fast. */
#define BB_HWMON_POWER_PERIOD_S 0.005

/* ---- energy_hwmon.c ---- */
/* Fills e->dom with the chosen sensors (each read once); false with why when none. */
bool bb_hwmon_open(bb_energy *e, char *why, size_t len);
/* One reading of a domain: microjoules (counter) or microwatts (power); false with why. */
bool bb_hwmon_read(const bb_energy *e, const bb_energy_domain *d, uint64_t *raw, char *why,
                   size_t len);
bool bb_hwmon_in_headline(const bb_energy *e, const char *kind);
const char *bb_hwmon_method(const bb_energy *e);
/* Adds "sensor", "reading" and, for a power sensor, "integration" to a domain's object. */
void bb_hwmon_domain_json(const bb_energy_domain *d, json_t *o);
/* The row's "hwmon" object: reading kind, sensors, integration method and bound. */
json_t *bb_hwmon_json(const bb_energy *e);
const char *bb_hwmon_access_hint(void);

/* ---- pieces exposed for the tests ---- */
void bb_power_integral_start(bb_power_integral *p, double t, double watts);
/* A reading at time t (seconds); a t before the latest reading counts as at it. */
void bb_power_integral_add(bb_power_integral *p, double t, double watts);
/* A sensor's kind from its chip name and label (see above); *socket = the label's number
 * for a package sensor, else -1. */
const char *bb_hwmon_kind(const char *chip, const char *label, int *socket);

#endif
