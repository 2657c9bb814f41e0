#include "CEmoFuzz.h"
#include <stdio.h>

// Used only when libFuzzer is not linked (a build without Fuzz/build.sh's flags): say so instead of failing to link.
__attribute__((weak)) int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t)) {
    (void)argc; (void)argv; (void)callback;
    fprintf(stderr, "emo-fuzz was built without libFuzzer; build it with Fuzz/build.sh\n");
    return 2;
}
