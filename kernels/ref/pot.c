/* PLACEHOLDER: replaced wholesale by the real reference for this format. */
#include "ref.h"
#include <stdlib.h>
#include <stdio.h>
static void todo(const char *f) { fprintf(stderr, "%s: not written yet\n", f); abort(); }
void bb_pot4_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_pot4_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_pot4_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_pot4_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_pot4_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void pot4_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_pot4_scalar_ref = {.name = "pot4-scalar-ref", .format = BB_FMT_POT4, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = pot4_rows};
void bb_pot5_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_pot5_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_pot5_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_pot5_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_pot5_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void pot5_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_pot5_scalar_ref = {.name = "pot5-scalar-ref", .format = BB_FMT_POT5, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = pot5_rows};
void bb_pot6_quantize(const float *w, bb_weights *out) { (void)w; (void)out; todo(__func__); }
uint32_t bb_pot6_get_code(const bb_weights *w, size_t row, size_t i) { (void)w; (void)row; (void)i; todo(__func__); return 0; }
void bb_pot6_set_code(bb_weights *w, size_t row, size_t i, uint32_t code) { (void)w; (void)row; (void)i; (void)code; todo(__func__); }
double bb_pot6_code_value(uint32_t code) { (void)code; todo(__func__); return 0; }
void bb_pot6_opcount(size_t m, size_t k, size_t n, bb_opcount *out) { (void)m; (void)k; (void)n; (void)out; todo(__func__); }
static void pot6_rows(const bb_gemm_args *a, size_t r0, size_t r1) { (void)a; (void)r0; (void)r1; todo(__func__); }
const bb_kernel bb_kernel_pot6_scalar_ref = {.name = "pot6-scalar-ref", .format = BB_FMT_POT6, .method = "ref", .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = pot6_rows};
