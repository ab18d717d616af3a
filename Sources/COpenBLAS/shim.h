#ifndef FAPSIM_COPENBLAS_SHIM_H
#define FAPSIM_COPENBLAS_SHIM_H
#include <cblas.h>

// OpenBLAS's thread count is a process-wide setting; exposed so benchmarks and
// the training loop can pin it explicitly.
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
#endif
