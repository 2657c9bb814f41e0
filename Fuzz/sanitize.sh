#!/usr/bin/env bash
# Fuzz/sanitize.sh: builds the parsers' test targets with the address sanitizer and runs the parser test classes.
#
# EMOKIT_FUZZ=1 (see Package.swift) limits the package to the parser libraries and their test targets, so no
# plugin, server or CLI is built. The Swift flags are Fuzz/build.sh's (address sanitizer + SanitizerCoverage, whose
# hooks are inert without libFuzzer), so this build and the fuzz build share one scratch folder
# ($EMO_FUZZ_SCRATCH, default .build-fuzz) and compile each module once. Swift 6.3 on Linux offers
# -sanitize=address, thread and fuzzer (and undefined for the C parts only; see docs/hardening.md).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
scratch=${EMO_FUZZ_SCRATCH:-.build-fuzz}
flags=(-c debug --scratch-path "$scratch" -Xswiftc -sanitize=address
       -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table)
EMOKIT_FUZZ=1 swift build --build-tests "${flags[@]}"
# The parser test classes (those that need no plugin library: the trimmed package builds none).
filters=(
    'EmoCoreTests\.'
    'EmoModelsTests\.'
    'EmoMediaTests\.(BadInputTests|HostileHeaderTests|DecoderReferenceTests|ResamplerTests|ClipProcessingTests)'
    'EmoRuntimeTests\.RegistryParsingTests'
    'EmoTensorTests\.ParameterStateTests'
    'EmoPipelineTests\.(SpecTests|CorporaTests|CorporaSpecTests|ScalingTests|BundleLoadingTests)'
)
args=()
for f in "${filters[@]}"; do args+=(--filter "$f"); done
# An allocation over 4 GB is an error: ASan's allocator would otherwise reserve, untouched, what a plain build fails
# to allocate (a header's lying frame count). Leak checking is off here: XCTest on Linux leaks its own test-case
# objects, and every test allocation has XCTest frames, so no suppression can tell them apart; the fuzzer checks
# leaks per input instead (Fuzz/run.sh). Swift's backtracer is off: it reads a crashed thread's stack in a way ASan
# reports.
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0:max_allocation_size_mb=4096} \
    EMOKIT_FUZZ=1 swift test --skip-build "${flags[@]}" "${args[@]}"
