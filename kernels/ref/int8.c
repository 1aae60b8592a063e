/* PLACEHOLDER: replaced wholesale by the real reference for this format. */
#include "ref.h"
#include <stdlib.h>
#include <stdio.h>
static void todo(const char *f) { fprintf(stderr, "%s: not written yet\n", f); abort(); }
void bb_int8_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_int8_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_int8_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_int8_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_int8_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void int8_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_int8_scalar_ref = {.name = "int8-scalar-ref", .format = BB_FMT_INT8, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = int8_rows};
