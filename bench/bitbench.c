#include "../kernels/kernel.h"
#include <stdio.h>
int main(void) { printf("%zu kernels\n", bb_kernel_count); return 0; }
