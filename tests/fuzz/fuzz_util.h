/*
 * tests/fuzz/fuzz_util.h - what every libFuzzer target shares: the input as a file that
 * the readers open by name, an argv made of the input's lines, and a scratch folder.
 * Header-only: each target is one translation unit (some include a command's .c file).
 */
#ifndef BITBENCH_FUZZ_UTIL_H
#define BITBENCH_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The input in a memory file, by a path every reader can open: /proc/self/fd/N. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("bitbench-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("fuzz_file");
        abort();
    }
    return path;
}

/* The input as a NUL-terminated string (a copy; free it). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* A scratch folder for outputs, made once per process. */
static inline const char *fuzz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/bitbench-fuzz-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

enum { FUZZ_MAX_ARGS = 24 };

/* argv[0] = cmd, then the input's lines (or NUL-separated pieces), at most FUZZ_MAX_ARGS
 * in all.  Pieces that would ask for --help are dropped: usage() exits the process, by
 * design, and getopt_long accepts any unambiguous prefix ("--he").  buf holds the copy. */
static inline int fuzz_argv(const char *cmd, const uint8_t *data, size_t size, char **argv, char **buf)
{
    int argc = 0;
    char *s = *buf = fuzz_text(data, size);
    argv[argc++] = (char *)cmd;
    for (char *p = s; p <= s + size && argc < FUZZ_MAX_ARGS;) {
        size_t len = strcspn(p, "\n");
        p[len] = 0;
        if (strncmp(p, "--h", 3) != 0)
            argv[argc++] = p;
        p += len + 1;
    }
    argv[argc] = NULL;
    return argc;
}

#endif
