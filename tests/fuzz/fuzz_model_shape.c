/*
 * tests/fuzz/fuzz_model_shape.c - `sweep --model-shape name:hidden:ffn:layers:heads:kv:vocab`:
 * parsed, then sized and checked against every format's shape limits.  Any bytes: a
 * model or a one-line error, no crash.
 */
#include "../../harness/model/models.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = fuzz_text(data, size), err[512];
    bb_model m;
    if (bb_model_parse_shape(spec, &m, err, sizeof err) == 0) {
        if (bb_model_validate(&m, err, sizeof err) != 0)
            abort();
        bb_proj proj[BB_PROJ_COUNT];
        bb_model_projections(&m, proj);
        for (int f = 0; f < BB_FMT_COUNT; f++) {
            bb_model_bytes b;
            bb_model_weight_bytes(&m, (bb_format_id)f, &b);
            for (size_t n = 1; n <= 65536; n *= 256)
                (void)bb_model_shape_check(&m, bb_kernel_reference((bb_format_id)f),
                                           bb_kernel_reference(BB_FMT_FP16), n, err, sizeof err);
        }
    }
    free(spec);
    return 0;
}
