/* The portable path: EmoKernelsBody.h for the package's default target (SSE2 on x86-64, NEON on aarch64). */
#define EMO_TARGET
#define EMO_TABLE emo_kernel_table_portable
#define EMO_PATH_NAME "portable"
#include "EmoKernelsBody.h"
