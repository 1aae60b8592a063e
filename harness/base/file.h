/* harness/base/file.h - opening a file that a reader can read to its end. */
#ifndef BITBENCH_FILE_H
#define BITBENCH_FILE_H

#include <stdio.h>

/* fopen(path, mode) for reading, refusing what would never end or say nothing: a directory
 * (it opens, then reads as empty) gives errno EISDIR, a device (/dev/zero is one endless
 * line) ENODEV.  NULL with errno set. */
FILE *bb_fopen_readable(const char *path, const char *mode);
/* Why it failed, from its errno: "a device, not a file" for ENODEV, else strerror. */
const char *bb_fopen_error(int err);

#endif
