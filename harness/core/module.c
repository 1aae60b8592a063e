/* harness/core/module.c - the kernel-module loader: dlopen, the ABI checks, the name registry. */
#include "module.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MODULE_KERNELS = 512, MAX_PREFIX = 32 };

typedef struct loaded {
    bb_kernel k;      /* the module's entry, with the (prefixed) name below */
    char *name;
    char *origin;
} loaded;

static loaded reg[MAX_MODULE_KERNELS];
static size_t nreg;

size_t bb_module_kernel_count(void) { return nreg; }
const bb_kernel *bb_module_kernel(size_t i) { return i < nreg ? &reg[i].k : NULL; }
const char *bb_module_kernel_origin(size_t i) { return i < nreg ? reg[i].origin : NULL; }

const bb_kernel *bb_module_find_exact(const char *name)
{
    for (size_t i = 0; i < nreg; i++)
        if (strcmp(reg[i].name, name) == 0)
            return &reg[i].k;
    return NULL;
}

const bb_kernel *bb_any_kernel_find_exact(const char *name)
{
    const bb_kernel *k = bb_module_find_exact(name);
    return k ? k : bb_kernel_find_exact(name);
}

void bb_module_forget_all(void)
{
    for (size_t i = 0; i < nreg; i++) {
        free(reg[i].name);
        free(reg[i].origin);
    }
    memset(reg, 0, sizeof reg);
    nreg = 0;
}

static int refuse(char *err, size_t len, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *err, size_t len, const char *origin, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(err, len, "module '%s' refused: %s", origin, why);
    return -1;
}

static int valid_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= MAX_PREFIX)
        return 0;
    for (const char *c = p; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

/* The one entry's shape: what the host relies on before calling into it. */
static const char *malformed(const bb_kernel *k)
{
    if (!k || !k->name || !k->name[0])
        return "an entry without a name";
    if ((unsigned)k->format >= BB_FMT_COUNT)
        return "an entry with an unknown format";
    if (!k->gemm_rows)
        return "an entry without gemm_rows";
    if (bb_formats[k->format].act == BB_ACT_Q8 && (!k->prepare_act || !k->act_bytes))
        return "an entry of an int8-activation format without prepare_act and act_bytes";
    if (!k->prepare_act != !k->act_bytes)
        return "an entry with only one of prepare_act and act_bytes";
    if (!k->repack != !k->layout_bytes)
        return "an entry with only one of repack and layout_bytes";
    return NULL;
}

int bb_module_register(const bb_module_info *info, const char *prefix, const char *origin, char *err,
                       size_t len)
{
    if (!info)
        return refuse(err, len, origin, "its " BB_MODULE_ENTRY "() returned NULL");
    if (info->abi_version != BB_MODULE_ABI_VERSION)
        return refuse(err, len, origin, "built for kernel-module ABI version %u, this bitbench accepts %u",
                      (unsigned)info->abi_version, BB_MODULE_ABI_VERSION);
    if (info->kernel_size != sizeof(bb_kernel))
        return refuse(err, len, origin, "its bb_kernel is %u bytes, this bitbench's is %u (same ABI version: "
                      "a module built from modified headers?)", (unsigned)info->kernel_size, (unsigned)sizeof(bb_kernel));
    if (!info->kernels || info->count == 0)
        return refuse(err, len, origin, "it lists no kernels");
    if (prefix && !valid_prefix(prefix))
        return refuse(err, len, origin, "prefix '%s' is not 1-31 characters of A-Z a-z 0-9 _ - .", prefix);
    if (nreg + info->count > MAX_MODULE_KERNELS)
        return refuse(err, len, origin, "more than %d module kernels in one process", MAX_MODULE_KERNELS);
    size_t first = nreg;
    for (size_t i = 0; i < info->count; i++) {
        const bb_kernel *k = info->kernels[i];
        const char *bad = malformed(k);
        if (bad) {
            refuse(err, len, origin, "its entry %zu is %s", i, bad);
            goto undo;
        }
        char name[160];
        snprintf(name, sizeof name, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", k->name);
        if (bb_any_kernel_find_exact(name)) {
            refuse(err, len, origin, "kernel name '%s' clashes with a kernel already known (give the module "
                   "a prefix: --plugin PREFIX=PATH)", name);
            goto undo;
        }
        reg[nreg].k = *k;
        reg[nreg].name = strdup(name);
        reg[nreg].origin = strdup(origin);
        reg[nreg].k.name = reg[nreg].name;
        nreg++;
    }
    return 0;
undo:
    while (nreg > first) {
        nreg--;
        free(reg[nreg].name);
        free(reg[nreg].origin);
        memset(&reg[nreg], 0, sizeof reg[nreg]);
    }
    return -1;
}

int bb_module_load(const char *spec, char *err, size_t len)
{
    char prefix[MAX_PREFIX + 1] = "";
    const char *path = spec, *eq = strchr(spec, '=');
    if (eq && !memchr(spec, '/', (size_t)(eq - spec))) { /* "PREFIX=PATH" */
        if ((size_t)(eq - spec) > MAX_PREFIX)
            return refuse(err, len, spec, "the prefix before '=' is longer than %d characters",
                          MAX_PREFIX - 1);
        memcpy(prefix, spec, (size_t)(eq - spec));
        prefix[eq - spec] = 0;
        path = eq + 1;
    }
    /* dlopen searches the library path for a bare name; a module is a file named as given */
    char file[4096];
    snprintf(file, sizeof file, "%s%s", strchr(path, '/') ? "" : "./", path);
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return refuse(err, len, path, "cannot load it: %s", e ? e : "dlopen failed");
    }
    dlerror();
    void *sym = dlsym(h, BB_MODULE_ENTRY);
    if (!sym) {
        dlclose(h);
        return refuse(err, len, path, "it has no symbol " BB_MODULE_ENTRY " (not a bitbench kernel module?)");
    }
    bb_module_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object pointer -> function pointer (POSIX dlsym) */
    if (bb_module_register(entry(), prefix[0] ? prefix : NULL, path, err, len) != 0) {
        dlclose(h);
        return -1;
    }
    return 0; /* stays loaded: its kernels are registered for the life of the process */
}
