/* harness/model/openergy.c - operation counts x pJ per operation; see openergy.h. */
#include "openergy.h"

#include <math.h>
#include <stdint.h>

static const char source_text[] =
    "Horowitz, Computing's energy problem, ISSCC 2014, per-operation energies at 45 nm and "
    "7 nm as tabulated in BitNet (arXiv 2310.11453) Table 2";

/* Horowitz via 2310.11453 Table 2, pJ per operation: {45 nm, 7 nm}. */
#define FP32_ADD {0.9, 0.38}
#define FP32_MUL {3.7, 1.31}
#define FP16_ADD {0.4, 0.16}
#define FP16_MUL {1.1, 0.34}
#define INT8_ADD {0.03, 0.007}
#define INT8_MUL {0.2, 0.07}

#define OP(field) #field, offsetof(bb_opcount, field)

const bb_op_energy bb_op_energies[] = {
    {OP(int_add), "INT8 ADD", INT8_ADD, "table"},
    {OP(int_mul), "INT8 MUL", INT8_MUL, "table"},
    {OP(int_cmp), "INT8 ADD", INT8_ADD, "assumed: a compare is a subtraction"},
    {OP(shift), "INT8 ADD", INT8_ADD,
     "assumed: not in the source table; a shift of an 8-bit operand by a few places costs "
     "no more than an 8-bit add (upper bound)"},
    {OP(fp16_add), "FP16 ADD", FP16_ADD, "table"},
    {OP(fp16_mul), "FP16 MUL", FP16_MUL, "table"},
    {OP(fp32_add), "FP32 ADD", FP32_ADD, "table"},
    {OP(fp32_mul), "FP32 MUL", FP32_MUL, "table"},
    {OP(fp32_cmp), "FP32 ADD", FP32_ADD, "assumed: a compare is a subtraction"},
    {OP(cvt), "FP32 ADD", FP32_ADD,
     "assumed: a conversion or rounding uses an FP adder's align, normalise and round stages"},
    {OP(fp32_div), NULL, {NAN, NAN}, "excluded: no division energy in the source table"},
};
const size_t bb_op_energy_count = sizeof bb_op_energies / sizeof bb_op_energies[0];
/* A class added to bb_opcount needs its row above (an energy, or excluded with why). */
_Static_assert(sizeof(bb_opcount) == 11 * sizeof(uint64_t),
               "bb_opcount changed: give the new class a row in bb_op_energies");

const char *bb_node_name(bb_node node)
{
    return node == BB_NODE_45NM ? "45nm" : "7nm";
}

static uint64_t count_of(const bb_opcount *ops, const bb_op_energy *row)
{
    return *(const uint64_t *)((const char *)ops + row->offset);
}

void bb_opcount_accumulate(bb_opcount *acc, const bb_opcount *ops, uint64_t times)
{
    for (size_t i = 0; i < bb_op_energy_count; i++) {
        uint64_t *field = (uint64_t *)((char *)acc + bb_op_energies[i].offset);
        *field += times * count_of(ops, &bb_op_energies[i]);
    }
}

double bb_openergy_pj(const bb_opcount *ops, bb_node node)
{
    double pj = 0;
    for (size_t i = 0; i < bb_op_energy_count; i++)
        if (bb_op_energies[i].charged_as)
            pj += (double)count_of(ops, &bb_op_energies[i]) * bb_op_energies[i].pj[node];
    return pj;
}

double bb_openergy_ratio(const bb_opcount *fp16_ops, const bb_opcount *ops, bb_node node)
{
    return bb_openergy_pj(fp16_ops, node) / bb_openergy_pj(ops, node);
}

json_t *bb_openergy_json(const bb_opcount *ops, double tokens)
{
    json_t *nodes = json_object(), *by_class = json_object(), *excluded = json_object();
    for (int n = 0; n < BB_NODE_COUNT; n++) {
        double pj = bb_openergy_pj(ops, (bb_node)n);
        json_t *o = json_pack("{s:f, s:f}", "pj", pj, "j", pj * 1e-12);
        json_object_set_new(o, "j_per_token",
                            tokens > 0 ? json_real(pj * 1e-12 / tokens) : json_null());
        if (!(tokens > 0))
            json_object_set_new(o, "j_per_token_reason",
                                json_string("tokens not given by the caller"));
        json_object_set_new(nodes, bb_node_name((bb_node)n), o);
    }
    for (size_t i = 0; i < bb_op_energy_count; i++) {
        const bb_op_energy *row = &bb_op_energies[i];
        uint64_t count = count_of(ops, row);
        if (count == 0)
            continue;
        if (!row->charged_as) {
            json_object_set_new(excluded, row->op_class, json_integer((json_int_t)count));
            continue;
        }
        json_object_set_new(by_class, row->op_class,
                            json_pack("{s:I, s:s, s:s, s:f, s:f}", "count", (json_int_t)count,
                                      "charged_as", row->charged_as, "basis", row->basis,
                                      "pj_45nm", (double)count * row->pj[BB_NODE_45NM],
                                      "pj_7nm", (double)count * row->pj[BB_NODE_7NM]));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "status", "modeled", "formula",
                     "sum over operation classes of count x pJ per operation (arithmetic only, "
                     "no memory traffic); see harness/model/openergy.h for the class mapping",
                     "source", source_text, "tokens",
                     tokens > 0 ? json_real(tokens) : json_null(), "nodes", nodes, "by_class",
                     by_class, "excluded", excluded);
}

/* ------------------------------------------------------------------ the paper's model */

double bb_openergy_paper_mac_pj(bb_paper_format f, bb_node node)
{
    static const double fp16_add[] = FP16_ADD, fp16_mul[] = FP16_MUL, int8_add[] = INT8_ADD;
    return f == BB_PAPER_FP16 ? fp16_add[node] + fp16_mul[node] : int8_add[node];
}

double bb_openergy_paper_matmul_pj(bb_paper_format f, size_t m, size_t k, size_t n,
                                   bb_node node)
{
    return (double)m * (double)k * (double)n * bb_openergy_paper_mac_pj(f, node);
}

double bb_openergy_paper_ratio(bb_node node)
{
    return bb_openergy_paper_mac_pj(BB_PAPER_FP16, node) /
           bb_openergy_paper_mac_pj(BB_PAPER_TERNARY, node);
}

json_t *bb_openergy_paper_json(void)
{
    json_t *mac = json_object(), *ratio = json_object();
    json_t *fp16 = json_object(), *tern = json_object();
    for (int n = 0; n < BB_NODE_COUNT; n++) {
        const char *name = bb_node_name((bb_node)n);
        json_object_set_new(fp16, name, json_real(bb_openergy_paper_mac_pj(BB_PAPER_FP16, n)));
        json_object_set_new(tern, name,
                            json_real(bb_openergy_paper_mac_pj(BB_PAPER_TERNARY, n)));
        json_object_set_new(ratio, name, json_real(bb_openergy_paper_ratio((bb_node)n)));
    }
    json_object_set_new(mac, "fp16", fp16);
    json_object_set_new(mac, "ternary", tern);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "status", "modeled", "assumptions",
                     "per multiply-accumulate: fp16 one FP16 ADD + one FP16 MUL; BitNet b1.58 "
                     "ternary one INT8 ADD (multiplying by -1/0/+1 is a sign select); "
                     "activation quantization and scaling left out",
                     "source", source_text, "mac_pj", mac, "ratio_fp16_over_ternary", ratio,
                     "paper_claim",
                     "matmul arithmetic energy 71.4x lower at 7 nm (BitNet b1.58, arXiv "
                     "2402.17764, Figure 3)");
}

json_t *bb_openergy_dram_json(double bytes_read, double tokens)
{
    double j = bytes_read * 8.0 * BB_DRAM_PJ_PER_BIT * 1e-12;
    json_t *o = json_pack(
        "{s:s, s:f, s:f, s:s, s:f}", "status", "modeled", "pj_per_bit", BB_DRAM_PJ_PER_BIT,
        "bytes", bytes_read, "source",
        "Horowitz ISSCC 2014 DRAM access energy at 45 nm (640 pJ per 32-bit read, as tabulated "
        "by Han et al., EIE, ISCA 2016); the same figure is used for both nodes, as an "
        "assumption: DRAM energy is set by the memory interface, not the logic node",
        "j", j);
    json_object_set_new(o, "j_per_token", tokens > 0 ? json_real(j / tokens) : json_null());
    return o;
}
