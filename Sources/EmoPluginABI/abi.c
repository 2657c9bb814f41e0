#include "emo_plugin.h"

/* The ABI version this copy of the header declares; lets Swift read the macros as values. */
uint32_t emo_abi_version_major(void) { return EMO_ABI_VERSION_MAJOR; }
uint32_t emo_abi_version_minor(void) { return EMO_ABI_VERSION_MINOR; }
