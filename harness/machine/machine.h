/*
 * harness/machine/machine.h - who measured: the build (compiler, flags, git revision) and the
 * machine (CPU, ISA, caches, memory, VM or not, governor), as JSON objects that every
 * result row repeats, so rows from two machines or two builds can be told apart.
 *
 * Build-time facts come from defines the Makefile may pass to harness/machine/machine.c:
 *   BB_CFLAGS  the compiler flags, as a string;  BB_GIT_REV  `git describe --always --dirty`.
 * Without BB_GIT_REV the revision is asked of git at run time (in $BITBENCH_SRCDIR, else
 * the executable's parent directory, else the working directory), else "unknown".
 */
#ifndef BITBENCH_MACHINE_H
#define BITBENCH_MACHINE_H

#include "../base/hash.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct bb_machine {
    char hostname[128];
    char os[200];
    char cpu_model[128];
    char vendor[32];
    unsigned family, model, stepping; /* as /proc/cpuinfo reports them (display values) */
    bool have_family;
    char isa_detected[256];
    char isa_cap[16];
    int cores;
    uint64_t l1d_bytes, l2_bytes, llc_bytes; /* 0: unknown */
    char llc_source[96];
    uint64_t memory_bytes; /* MemTotal; 0 unknown */
    bool virtualized;
    char hypervisor[16];   /* "" when none or not said */
    char governor[64];     /* "" when unreadable, see governor_reason */
    char governor_reason[128];
    char id[17];           /* hex FNV-1a of the identity fields */
} bb_machine;

/* Fills m from /proc, /sys, cpuid and the ISA cap in force now. */
void bb_machine_describe(bb_machine *m);
json_t *bb_machine_json(const bb_machine *m);

/* The build: {"compiler": ..., "cflags": ...}. */
json_t *bb_build_json(void);
/* Git revision of the source (see above); never NULL. */
const char *bb_git_revision(void);

/* Memory the system can still give (MemAvailable) and its total, in bytes; 0 unknown. */
uint64_t bb_machine_mem_available(void);
uint64_t bb_machine_mem_total(void);

/* The number of a "Field:  123 kB" line of a /proc file (kB as written); 0 if absent. */
uint64_t bb_proc_kb_field(const char *path, const char *field);

#endif
