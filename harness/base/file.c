/* harness/base/file.c - opening a file that a reader can read to its end (file.h). */
#include "file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

FILE *bb_fopen_readable(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
        fclose(f);
        errno = S_ISDIR(st.st_mode) ? EISDIR : ENODEV;
        return NULL;
    }
    return f;
}

const char *bb_fopen_error(int err) { return err == ENODEV ? "a device, not a file" : strerror(err); }
