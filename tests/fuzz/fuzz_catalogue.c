/*
 * tests/fuzz/fuzz_catalogue.c - the model catalogue (results/models.csv, --catalogue):
 * parsed, then every model's projections sized and checked against the shape limits of
 * every format, as `sweep` does.  Any bytes: a model list or a one-line error, no crash.
 */
#include "../../harness/model/models.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bb_model models[BB_MODELS_MAX];
    char *text = fuzz_text(data, size), err[512];
    size_t n = 0;
    if (bb_models_parse(text, models, BB_MODELS_MAX, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (bb_model_validate(&models[i], err, sizeof err) != 0)
                abort(); /* the parser let through a shape its validation refuses */
            bb_model_params p;
            bb_model_params_count(&models[i], &p);
            for (int f = 0; f < BB_FMT_COUNT; f++) {
                bb_model_bytes b;
                bb_model_weight_bytes(&models[i], (bb_format_id)f, &b);
                (void)bb_model_shape_check(&models[i], bb_kernel_reference((bb_format_id)f),
                                           bb_kernel_reference(BB_FMT_FP16), 65536, err, sizeof err);
            }
            (void)bb_model_kv_bytes_per_seq(&models[i], 1u << 20, 2);
        }
    } else if (!memchr(err, 0, sizeof err) || !err[0]) {
        abort(); /* an error needs its one line */
    }
    free(text);
    return 0;
}
