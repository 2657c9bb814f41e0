// libFuzzer's driver entry point, for `emo-fuzz` (Fuzz/Sources/emo-fuzz/main.swift).
//
// Fuzz/build.sh links the toolchain's libclang_rt.fuzzer_no_main, which defines it; the weak fallback in
// CEmoFuzz.c only says how to build the driver when that archive is missing.
#ifndef CEMOFUZZ_H
#define CEMOFUZZ_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with its command line (`argc`, `argv`: libFuzzer flags and corpus folders), calling `callback`
/// with each input. Returns libFuzzer's exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
