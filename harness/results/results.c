/* harness/results/results.c - results files as JSON Lines: the appending writer, the line reader
 * and the resume key set (results.h). */
#include "results.h"
#include "row.h"
#include "../base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char keep = *p;
            *p = 0;
            if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
                return -1;
            }
            *p = keep;
            if (!keep)
                break;
        }
    }
    return 0;
}

static int repair_last_line(int wfd, const char *path);

int bb_results_open(bb_results_writer *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (strlen(path) >= sizeof w->path) {
        snprintf(err, errlen, "output path is too long");
        return -1;
    }
    snprintf(w->path, sizeof w->path, "%s", path);
    if (make_parents(path, err, errlen))
        return -1;
    w->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot open %s for appending: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(w->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(w->fd);
        w->fd = -1;
        return -1;
    }
    /* a run killed mid-write left a cut row: cut it off now, before anything is measured */
    int rc = 0;
    if (flock(w->fd, LOCK_EX) == 0) {
        rc = repair_last_line(w->fd, path);
        flock(w->fd, LOCK_UN);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot repair the cut last line of %s: %s", path, strerror(errno));
        close(w->fd);
        w->fd = -1;
        return -1;
    }
    return 0;
}

static int write_all(int fd, const char *buf, size_t len);

/* Where the file's last line starts when the file does not end in a newline; -1 when it
 * does (or is empty, or unreadable). */
static off_t partial_line_start(int fd, off_t size)
{
    char buf[4096], last = '\n';
    if (size <= 0 || pread(fd, &last, 1, size - 1) != 1 || last == '\n')
        return -1;
    for (off_t end = size; end > 0;) {
        off_t chunk = end > (off_t)sizeof buf ? (off_t)sizeof buf : end;
        if (pread(fd, buf, (size_t)chunk, end - chunk) != (ssize_t)chunk)
            return -1;
        for (off_t i = chunk; i > 0; i--)
            if (buf[i - 1] == '\n')
                return end - chunk + i;
        end -= chunk;
    }
    return 0;
}

/* A last line without its newline is a row whose writer was killed mid-write (a write()
 * of a few pages can stop between pages on SIGKILL), or a hand-edited file's last row.  A
 * fragment that is not a whole JSON object is cut off, so the file is whole lines again
 * and no reader ever meets it; a whole object only gets its newline.  Under flock. */
static int repair_last_line(int wfd, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    off_t size = lseek(fd, 0, SEEK_END), start = partial_line_start(fd, size);
    int rc = 0;
    if (start >= 0) {
        size_t len = (size_t)(size - start);
        char *frag = malloc(len ? len : 1);
        json_error_t e;
        json_t *row = frag && pread(fd, frag, len, start) == (ssize_t)len ? json_loadb(frag, len, 0, &e) : NULL;
        bool whole = row && json_is_object(row);
        json_decref(row);
        free(frag);
        rc = whole ? write_all(wfd, "\n", 1) : ftruncate(wfd, start);
    }
    close(fd);
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int bb_results_append(bb_results_writer *w, const json_t *row, char *err, size_t errlen)
{
    char *text = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(err, errlen, "cannot serialize the row (out of memory or a non-finite number)");
        return -1;
    }
    size_t len = strlen(text);
    /* One buffer, so that one write() carries the whole line: "\n"? row "\n". */
    char *line = malloc(len + 3);
    if (!line) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    while (flock(w->fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "cannot lock %s: %s", w->path, strerror(errno));
            goto out;
        }
    size_t off = 0;
    if (repair_last_line(w->fd, w->path) != 0) {
        snprintf(err, errlen, "cannot repair the cut last line of %s: %s", w->path, strerror(errno));
        flock(w->fd, LOCK_UN);
        goto out;
    }
    memcpy(line + off, text, len);
    off += len;
    line[off++] = '\n';
    if (write_all(w->fd, line, off) != 0 || fsync(w->fd) != 0)
        snprintf(err, errlen, "cannot write %s: %s", w->path, strerror(errno));
    else
        rc = 0;
    flock(w->fd, LOCK_UN);
    if (rc == 0)
        w->rows++;
out:
    free(line);
    free(text);
    return rc;
}

void bb_results_close(bb_results_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

static void note_bad(bb_results_read_info *info, size_t lineno, const char *why)
{
    if (info->bad_lines++ == 0) {
        info->first_bad_line = lineno;
        snprintf(info->first_bad_reason, sizeof info->first_bad_reason, "%s", why);
    }
}

int bb_results_read(const char *path, bb_results_row_fn fn, void *ctx, bb_results_read_info *info,
                    char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    FILE *f = bb_fopen_readable(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 errno == ENODEV ? "a device, not a results file" : strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bool has_newline = len > 0 && line[len - 1] == '\n';
        size_t body = (size_t)len - has_newline;
        if (body == 0)
            continue;
        info->lines++;
        json_error_t jerr;
        json_t *row = json_loadb(line, body, 0, &jerr);
        char why[160];
        if (!row || !json_is_object(row)) {
            snprintf(why, sizeof why, "%s", row ? "not a JSON object" : jerr.text);
            note_bad(info, lineno, why);
            /* A last line without its newline that does not parse: a write cut short. */
            if (!has_newline)
                info->truncated_last = true;
            json_decref(row);
            continue;
        }
        json_int_t version = json_integer_value(json_object_get(row, "schema_version"));
        if (version > BB_RESULTS_SCHEMA_VERSION) {
            snprintf(why, sizeof why, "schema_version %lld is newer than this reader's %d",
                     (long long)version, BB_RESULTS_SCHEMA_VERSION);
            note_bad(info, lineno, why);
        } else {
            info->rows++;
            if (fn)
                fn(row, lineno, ctx);
        }
        json_decref(row);
    }
    free(line);
    fclose(f);
    return 0;
}

/* ------------------------------------------------------------------ key sets */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void bb_keyset_add(bb_keyset *s, const char *key)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **k = realloc(s->keys, cap * sizeof *k);
        if (!k)
            abort(); /* a handful of keys: out of memory here means nothing else will work */
        s->keys = k;
        s->cap = cap;
    }
    s->keys[s->n] = strdup(key);
    if (!s->keys[s->n])
        abort();
    s->n++;
    s->sorted = false;
}

bool bb_keyset_has(bb_keyset *s, const char *key)
{
    if (!s->n)
        return false;
    if (!s->sorted) {
        qsort(s->keys, s->n, sizeof *s->keys, cmp_str);
        s->sorted = true;
    }
    return bsearch(&key, s->keys, s->n, sizeof *s->keys, cmp_str) != NULL;
}

void bb_keyset_free(bb_keyset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    memset(s, 0, sizeof *s);
}

/* --resume: the key of every row, read by the one reader (row.h); an object that is no row
 * of either kind but has a "key" (a row written before rows said their kind) counts too. */
static void add_row_key(json_t *row, size_t line, void *ctx)
{
    (void)line;
    bb_result_row r;
    char why[160];
    int got = bb_result_row_read(row, &r, why, sizeof why);
    const char *key = got == 0 ? r.key : got == 1 ? json_string_value(json_object_get(row, "key")) : NULL;
    if (key)
        bb_keyset_add(ctx, key);
    if (got == 0)
        bb_result_row_free(&r);
}

int bb_keyset_load(bb_keyset *s, const char *path, bb_results_read_info *info, char *err, size_t errlen)
{
    if (access(path, F_OK) != 0) {
        memset(info, 0, sizeof *info);
        return 0;
    }
    return bb_results_read(path, add_row_key, s, info, err, errlen);
}
