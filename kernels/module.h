/*
 * kernels/module.h - the C ABI of a kernel module: a shared object that adds kernels to
 * bitbench at run time (`bitbench gemm --plugin lib.so`).
 *
 * A module exports one function, bitbench_module(), returning a bb_module_info: the ABI
 * version it was built with and its table of bb_kernel entries (exactly the entries of
 * kernel.h: names, format, needs, priority, repack, prepare_act, gemm_rows).  The host
 * quantizes the weights with its own format table and checks every module kernel
 * against its own scalar reference before timing it, as it does for built-in kernels.
 *
 * BB_MODULE_ABI_VERSION covers everything both sides must agree on: the layout of
 * bb_kernel, bb_gemm_args, bb_weights and bb_act_q8; the numbering of bb_format_id,
 * bb_act_type, bb_isa_level and the BB_CPU_* bits; and each format's packed layout.
 * Change any of them and bump the version: the host refuses a module of another version
 * (exit 2), since a wrong layout would not fail loudly - it would compute garbage or
 * crash inside the timed loop.  The size checks below make a layout change fail the
 * build until the version (and the sizes) are updated.
 *
 * abi_version stays the first field of bb_module_info in every version, so that a host
 * can read it from a module of any version.
 */
#ifndef BITBENCH_MODULE_H
#define BITBENCH_MODULE_H

#include "kernel.h"

#include <stdint.h>

#define BB_MODULE_ABI_VERSION 1u
#define BB_MODULE_ENTRY "bitbench_module" /* the one symbol a module must export */

typedef struct bb_module_info {
    uint32_t abi_version;        /* BB_MODULE_ABI_VERSION the module was built with */
    uint32_t kernel_size;        /* sizeof(bb_kernel) there: a second guard on the layout */
    const char *description;     /* one line for `bitbench list --plugin` */
    size_t count;                /* entries in kernels[] */
    const bb_kernel *const *kernels;
} bb_module_info;

typedef const bb_module_info *(*bb_module_entry_fn)(void);

/* What a module defines (visibility default: modules are built -fvisibility=hidden). */
#define BB_MODULE_EXPORT __attribute__((visibility("default")))
BB_MODULE_EXPORT const bb_module_info *bitbench_module(void);

/* ABI version 1, x86-64 and aarch64 (LP64): bb_kernel with max_k (shape limits), and the
 * feature bits and ISA levels of kernels/isa.def as of that table's first version (their
 * values are part of the ABI: .needs and .isa travel as numbers).  A failing assert here
 * means a struct of the ABI changed: bump BB_MODULE_ABI_VERSION, then update the size. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(bb_kernel) == 104, "bb_kernel changed: bump BB_MODULE_ABI_VERSION");
_Static_assert(sizeof(bb_gemm_args) == 64, "bb_gemm_args changed: bump BB_MODULE_ABI_VERSION");
_Static_assert(sizeof(bb_weights) == 64, "bb_weights changed: bump BB_MODULE_ABI_VERSION");
_Static_assert(sizeof(bb_act_q8) == 48, "bb_act_q8 changed: bump BB_MODULE_ABI_VERSION");
_Static_assert(BB_FMT_COUNT == 7, "formats changed: bump BB_MODULE_ABI_VERSION");
#endif

#endif
