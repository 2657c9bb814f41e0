#!/usr/bin/env bash
# Reruns failed (or killed) tasks of a submit.sh job array and lets the waiting merge job start after them.
#
#   docs/slurm/retry-task.sh OUT K [K...]
#
# Slurm remembers a failed dependency even after the task is requeued, so the merge job (pending with
# DependencyNeverSatisfied) gets its dependency set again, on each task, and then starts once every shard
# succeeded. A requeued task resumes from its shard store: no duplicate and no missing rows.
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,8p' "$0" >&2; exit 2; fi
out=$1; shift
# shellcheck disable=SC1091
. "$out/jobs.env"
for k in "$@"; do
  scontrol requeue "${ARRAY_JOB}_$k"
  # A requeued job waits about two minutes before it may start again; let it start now.
  scontrol update jobid="${ARRAY_JOB}_$k" StartTime=now
done
deps=$(seq -f "${ARRAY_JOB}_%g" 1 "$SHARDS" | paste -sd:)
scontrol update jobid="$MERGE_JOB" dependency=afterok:"$deps"
echo "requeued task(s) $* of $ARRAY_JOB; merge job $MERGE_JOB now waits on afterok:$deps"
