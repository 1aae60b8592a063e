/* kernels/ref/tally.c - the counter that BB_COUNT adds to in the instrumented build. */
#include "ref.h"

#ifdef BB_COUNT_OPS
bb_opcount bb_ops_counted;
#else
typedef int bb_tally_unused; /* ISO C wants a translation unit to declare something */
#endif
