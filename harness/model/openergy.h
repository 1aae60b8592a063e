/*
 * harness/model/openergy.h - modeled arithmetic energy: operation counts x energy per operation.
 *
 * This is the BitNet papers' method, not a measurement: the figures are labelled
 * "modeled" everywhere.  Energies per operation (pJ) are Horowitz, "Computing's energy
 * problem", ISSCC 2014, as tabulated for 45 nm and 7 nm in BitNet (arXiv 2310.11453,
 * Table 2); see ../shared/reference/paper-facts.md.
 *
 * Which table row each bb_opcount class is charged as (bb_op_energies[] holds the same,
 * with the basis of each):
 *   int_add  -> INT8 ADD   table (the paper's convention, kept although our accumulators
 *                          are 32 bits wide)
 *   int_mul  -> INT8 MUL   table
 *   int_cmp  -> INT8 ADD   assumed: a compare is a subtraction
 *   shift    -> INT8 ADD   assumed: Horowitz lists no shift; a shift of an 8-bit operand by
 *                          a few places is a few layers of multiplexers, no more than an
 *                          8-bit adder, so this is an upper bound
 *   fp16_add -> FP16 ADD, fp16_mul -> FP16 MUL, fp32_add -> FP32 ADD, fp32_mul -> FP32 MUL
 *   fp32_cmp -> FP32 ADD   assumed: a compare is a subtraction
 *   cvt      -> FP32 ADD   assumed: a conversion or rounding uses an FP adder's align,
 *                          normalise and round stages
 *   fp32_div -> left out of the sum (no figure in the source); its count is reported
 *
 * The paper's own assumption model (bb_openergy_paper_*): per multiply-accumulate, fp16
 * performs one FP16 ADD and one FP16 MUL; BitNet b1.58 ternary one INT8 ADD (the multiply
 * by -1/0/+1 is a sign select); activation quantization and scaling are ignored.  At 7 nm
 * the ratio is (0.16 + 0.34) / 0.007 = 71.4, the paper's matmul energy factor.
 *
 * An optional DRAM term (bb_openergy_dram_json) is kept separate so that the
 * arithmetic-only figure stays comparable with the paper.
 */
#ifndef BITBENCH_OPENERGY_H
#define BITBENCH_OPENERGY_H

#include "../../kernels/kernel.h"

#include <jansson.h>
#include <stddef.h>

typedef enum { BB_NODE_45NM, BB_NODE_7NM, BB_NODE_COUNT } bb_node;
const char *bb_node_name(bb_node node); /* "45nm", "7nm" */

typedef struct bb_op_energy {
    const char *op_class;   /* bb_opcount field name */
    size_t offset;          /* of that field in bb_opcount */
    const char *charged_as; /* table row ("INT8 ADD"), NULL when left out of the sum */
    double pj[BB_NODE_COUNT];
    const char *basis;      /* "table", or "assumed: ..." / "excluded: ..." with the reason */
} bb_op_energy;
extern const bb_op_energy bb_op_energies[];
extern const size_t bb_op_energy_count;

/* acc += times x ops, field by field (a model's decode step: every projection's count
 * times the layer count, plus the head). */
void bb_opcount_accumulate(bb_opcount *acc, const bb_opcount *ops, uint64_t times);

/* Arithmetic energy of the counted operations at a node, in pJ. */
double bb_openergy_pj(const bb_opcount *ops, bb_node node);
/* fp16's energy over this one's for the same work (e.g. two formats' counts of one GEMM). */
double bb_openergy_ratio(const bb_opcount *fp16_ops, const bb_opcount *ops, bb_node node);

/* {"status": "modeled", "formula", "source", "tokens", "nodes": {"45nm": {"pj", "j",
 *  "j_per_token"}, "7nm": {...}}, "by_class": {class: {"count", "charged_as", "basis",
 *  "pj_45nm", "pj_7nm"}}, "excluded": {class: count}}.  by_class lists classes with a
 * non-zero count.  tokens: tokens the counted operations produced (<= 0: j_per_token null
 * with a reason). */
json_t *bb_openergy_json(const bb_opcount *ops, double tokens);

/* The paper's assumption model. */
typedef enum { BB_PAPER_FP16, BB_PAPER_TERNARY } bb_paper_format;
double bb_openergy_paper_mac_pj(bb_paper_format f, bb_node node);
/* An m x k by k x n product under the paper's assumptions: m * k * n MACs, in pJ. */
double bb_openergy_paper_matmul_pj(bb_paper_format f, size_t m, size_t k, size_t n,
                                   bb_node node);
double bb_openergy_paper_ratio(bb_node node); /* fp16 / ternary: 71.4 at 7 nm */
json_t *bb_openergy_paper_json(void);         /* the model, its constants and the ratios */

/* DRAM read energy: bytes x 8 x BB_DRAM_PJ_PER_BIT; separate from the arithmetic. */
#define BB_DRAM_PJ_PER_BIT 20.0
json_t *bb_openergy_dram_json(double bytes_read, double tokens);

#endif
