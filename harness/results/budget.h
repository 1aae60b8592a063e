/* harness/results/budget.h - the Table 3 rule, shared by the sweep that records a row's
 * budget.max_batch and the report that explains it: the largest batch N whose weights and
 * N sequences' KV cache fit the budget. */
#ifndef BITBENCH_BUDGET_H
#define BITBENCH_BUDGET_H

#include <stdint.h>

/* 0 when not even the weights fit (or no KV bytes per sequence are known). */
static inline uint64_t bb_budget_max_batch(uint64_t weight_bytes, uint64_t kv_bytes_per_seq, uint64_t budget)
{
    if (weight_bytes >= budget || kv_bytes_per_seq == 0)
        return 0;
    return (budget - weight_bytes) / kv_bytes_per_seq;
}

#endif
