/* PLACEHOLDER: replaced wholesale by the real reference for this format. */
#include "ref.h"
#include <stdlib.h>
#include <stdio.h>
static void todo(const char *f) { fprintf(stderr, "%s: not written yet\n", f); abort(); }
void bb_tern2_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_tern2_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_tern2_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_tern2_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_tern2_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void tern2_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_tern2_scalar_ref = {.name = "tern2-scalar-ref", .format = BB_FMT_TERN2, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = tern2_rows};
void bb_tern1_6_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_tern1_6_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_tern1_6_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_tern1_6_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_tern1_6_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void tern1_6_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_tern1_6_scalar_ref = {.name = "tern1.6-scalar-ref", .format = BB_FMT_TERN1_6, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = tern1_6_rows};
