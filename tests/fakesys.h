/* tests/fakesys.h - shared by the energy tests: fake sysfs trees (files under a root, replaced
 * whole as sysfs values are) and JSON members a test requires. */
#ifndef BITBENCH_FAKESYS_H
#define BITBENCH_FAKESYS_H

#include <jansson.h>
#include <stdint.h>

/* root/rel holds text, its parent folders made; written to rel.tmp and renamed, so a reader
 * (the sampler thread may be reading at the same moment) never sees half a value. */
void fs_write(const char *root, const char *rel, const char *text);
/* The same with "v\n". */
void fs_write_u64(const char *root, const char *rel, uint64_t v);

/* o's member key, which must be a number (a string); the test fails otherwise. */
double tu_num(json_t *o, const char *key);
const char *tu_str(json_t *o, const char *key);

#endif
