/*
 * bench/cli.h - what every subcommand shares: argument parsing with one-line errors,
 * exit codes, and the common options (--threads, --isa).
 */
#ifndef BITBENCH_CLI_H
#define BITBENCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/kernel.h"

enum { BB_EXIT_OK = 0, BB_EXIT_FINDING = 1, BB_EXIT_USAGE = 2 };

/* Prints "bitbench <cmd>: <message>\n" to stderr.  Returns BB_EXIT_USAGE. */
int bb_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A whole number in [lo, hi], with K/M/G suffixes allowed when suffixes is true. */
int bb_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                     bool suffixes, uint64_t *out);
int bb_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out);
/* "1,2,4" into v (at most cap entries), each in [lo, hi]. */
int bb_cli_parse_u64_list(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                          uint64_t *v, size_t cap, size_t *count);
/* Memory the system can still give us (MemAvailable), in bytes; 0 if unknown. */
uint64_t bb_mem_available(void);
/* Human bytes, e.g. "1.50 GiB", into buf. */
const char *bb_human_bytes(double bytes, char *buf, size_t len);
/* Applies --isa (or validates BITBENCH_ISA when s is NULL).  0 ok, BB_EXIT_USAGE on a bad value. */
int bb_cli_apply_isa(const char *cmd, const char *s);
/* The on/off environment switches (BITBENCH_HUGEPAGES, BITBENCH_PREFETCH_NEXT): each, when
 * set, is 0 or 1.  0 ok, or BB_EXIT_USAGE after the one-line error naming the variable. */
int bb_cli_check_env_switches(const char *cmd);
/* Default thread count: every core this process may use. */
int bb_cli_default_threads(void);
/* --threads t above bb_cli_default_threads() is refused (pinned threads would share cores
 * and time each other): 0, or BB_EXIT_USAGE after the one-line error. */
int bb_cli_check_threads(const char *cmd, uint64_t t);
/* Comma-separated names of every format, e.g. for error messages. */
const char *bb_cli_format_names(void);
/* The --isa names of this architecture joined by sep ("scalar|avx2|avxvnni|avx512"; one
 * buffer, reused), and the architecture's name for messages. */
const char *bb_cli_isa_names(const char *sep);
const char *bb_cli_arch_name(void);
/* --plugin [PREFIX=]PATH: loads a kernel module.  0, or BB_EXIT_USAGE with the reason printed. */
int bb_cli_load_plugin(const char *cmd, const char *spec);

/* First-run tuning of gemm and sweep (bench/cmd_tune.c, harness/tune/tune.h): the cases of
 * cases[0..n) that this machine's tuning record does not cover yet are timed as `bitbench
 * tune` times them and added to the record; the table and progress go to stderr, stdout is
 * untouched.  0, or BB_EXIT_USAGE when the record cannot be written. */
typedef struct bb_tune_case {
    bb_format_id format;
    size_t m, k;
    uint64_t n;
    unsigned threads;
} bb_tune_case;
int bb_tune_missing(const char *cmd, const bb_tune_case *cases, size_t n);
/* false when BITBENCH_AUTOTUNE=0 (tests, CI): gemm and sweep then never tune on their own. */
bool bb_tune_auto_enabled(void);

/* Subcommands: argv[0] is the subcommand name. */
int bb_cmd_list(int argc, char **argv);
int bb_cmd_info(int argc, char **argv);
int bb_cmd_gemm(int argc, char **argv);
int bb_cmd_sweep(int argc, char **argv);
int bb_cmd_report(int argc, char **argv);
int bb_cmd_compare(int argc, char **argv);
int bb_cmd_history(int argc, char **argv);
int bb_cmd_paired(int argc, char **argv);
int bb_cmd_tune(int argc, char **argv);

#endif
