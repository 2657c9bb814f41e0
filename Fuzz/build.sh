#!/usr/bin/env bash
# Fuzz/build.sh: builds `emo-fuzz`, the libFuzzer driver over EmoKit's parsers (Fuzz/Sources, docs/hardening.md).
#
# EMOKIT_FUZZ=1 makes Package.swift hold emo-fuzz and only the libraries the parsers need. Every Swift module is
# compiled with the address sanitizer and SanitizerCoverage (what `-sanitize=fuzzer` turns on, without linking
# libFuzzer's own main: emo-fuzz has its own, which calls LLVMFuzzerRunDriver); the toolchain's
# libclang_rt.fuzzer_no_main is linked whole. Debug configuration (assertions and overflow traps on, testable).
# Scratch folder: $EMO_FUZZ_SCRATCH (default .build-fuzz). Prints the binary's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
scratch=${EMO_FUZZ_SCRATCH:-.build-fuzz}
arch=$(uname -m)
runtime="$(dirname "$(dirname "$(command -v swiftc)")")/lib/swift/clang/lib/linux"
libfuzzer="$runtime/libclang_rt.fuzzer_no_main-$arch.a"
[ -f "$libfuzzer" ] || { echo "Fuzz/build.sh: $libfuzzer not found (this toolchain has no libFuzzer)" >&2; exit 1; }
# The instrumentation -sanitize=fuzzer selects (edge coverage, indirect calls, comparisons, inline 8-bit counters,
# PC table), plus the address sanitizer.
EMOKIT_FUZZ=1 swift build -c debug --scratch-path "$scratch" --product emo-fuzz \
    -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table \
    -Xlinker --whole-archive -Xlinker "$libfuzzer" -Xlinker --no-whole-archive -Xlinker -lstdc++ 2>&1 \
    | grep -v "Cannot export local symbol '__asan" >&2   # gold's note on every ASan helper under --export-dynamic
echo "$scratch/debug/emo-fuzz"
