/*
 * harness/core/module.h - loading kernel modules (kernels/module.h) into this process and
 * finding their kernels: `--plugin [PREFIX=]PATH` of gemm and list.
 *
 * A module's kernels are registered under their own names, or as PREFIX/NAME when a
 * prefix is given (so that two builds of the same table, e.g. old/ and new/, can sit in
 * one process).  A module is refused - nothing of it registered - when it cannot be
 * opened, lacks the entry symbol, was built for another ABI version or kernel layout,
 * has a malformed entry, or brings a name that is already taken.
 */
#ifndef BITBENCH_MODULE_LOADER_H
#define BITBENCH_MODULE_LOADER_H

#include "../../kernels/module.h"

#include <stddef.h>

/* Loads "[PREFIX=]PATH".  0, or -1 with a one-line reason (naming the module) in err. */
int bb_module_load(const char *spec, char *err, size_t len);

/* Registers the kernels an entry returned (what bb_module_load does after dlopen/dlsym;
 * tests call it with tables of their own).  origin names the module in messages; prefix
 * may be NULL.  0, or -1 with the reason in err. */
int bb_module_register(const bb_module_info *info, const char *prefix, const char *origin, char *err,
                       size_t len);

size_t bb_module_kernel_count(void);
const bb_kernel *bb_module_kernel(size_t i);      /* i < bb_module_kernel_count() */
const char *bb_module_kernel_origin(size_t i);    /* the module it came from */
const bb_kernel *bb_module_find_exact(const char *name); /* a module kernel, or NULL */
/* A module kernel or a built-in one (modules first; names never clash). */
const bb_kernel *bb_any_kernel_find_exact(const char *name);
/* Forgets every registered kernel (tests; the shared objects stay mapped). */
void bb_module_forget_all(void);

#endif
