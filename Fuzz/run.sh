#!/usr/bin/env bash
# Fuzz/run.sh [SECONDS] [TARGET...]: builds emo-fuzz (Fuzz/build.sh), then runs each target (default: all) for
# SECONDS (default 20) from its seed corpus Fuzz/corpus/<target>, and prints executions and findings per target.
#
# One libFuzzer process at a time (libFuzzer's default: no -jobs/-workers, so no forked workers), RSS limit
# 2048 MB, 10 s per input, the target's dictionary from Fuzz/dict when there is one. New inputs go to $SCRATCH/fuzz-corpus/<target> (the committed seeds are only read), the
# logs to $SCRATCH/fuzz-logs/<target>.log and every crash/timeout/oom/leak input to $SCRATCH/fuzz-findings/<target>/.
# Exit status 1 when any target has a finding. EMO_FUZZ_FLAGS adds libFuzzer flags (e.g. -seed=1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
[ $# -gt 0 ] && shift
scratch=${EMO_FUZZ_SCRATCH:-.build-fuzz}
bin=$(bash Fuzz/build.sh)
# Swift's own crash backtracer reads the crashed thread's stack from a helper thread, which the address sanitizer
# reports as a stack-buffer-underflow (and which can hang the run): libFuzzer and ASan print the stack instead.
export SWIFT_BACKTRACE=enable=no
# Leaks that are not EmoKit's (swift-foundation, libvorbis, Swift globals): Fuzz/lsan.supp.
export LSAN_OPTIONS=suppressions=$PWD/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("$bin" --list | cut -f1)
printf '%-15s %6s %11s %8s %6s %6s %7s %6s %8s %s\n' target secs executions exec/s cov ft corpus new rss_mb findings
total_findings=0
for t in "${targets[@]}"; do
    work="$scratch/fuzz-corpus/$t" findings="$scratch/fuzz-findings/$t" log="$scratch/fuzz-logs/$t.log"
    mkdir -p "$work" "$findings" "$(dirname "$log")"
    case "$t" in manifest-*) dict=manifest ;; bundle*) dict=bundle ;; *) dict=$t ;; esac
    dictflag=()
    [ -f "Fuzz/dict/$dict.dict" ] && dictflag=(-dict="Fuzz/dict/$dict.dict")
    before=$(find "$findings" -type f | wc -l)
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bin" "$t" "$work" "Fuzz/corpus/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$findings/" "${dictflag[@]}" ${EMO_FUZZ_FLAGS:-} >"$log" 2>&1 || true
    took=$(( $(date +%s) - start ))
    stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    new=$(( $(find "$findings" -type f | wc -l) - before ))
    total_findings=$(( total_findings + new ))
    what=$( [ "$new" -gt 0 ] && { grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" || echo "see $log"; } || echo 0 )
    printf '%-15s %6s %11s %8s %6s %6s %7s %6s %8s %s\n' "$t" "$took" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$(stat new_units_added)" \
        "$(stat peak_rss_mb)" "$what"
done
[ "$total_findings" -eq 0 ] || { echo "Fuzz/run.sh: $total_findings finding(s); inputs under $scratch/fuzz-findings" >&2; exit 1; }
