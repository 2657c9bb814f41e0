// OpenBLAS CBLAS interface (Debian: libopenblas-dev puts cblas.h on the multiarch include path).
#include <cblas.h>
// openblas_get_corename / openblas_get_num_threads / openblas_set_num_threads
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
char *openblas_get_config(void);
