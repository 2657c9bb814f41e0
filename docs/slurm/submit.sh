#!/usr/bin/env bash
# Submits a sharded `emo extract` as a Slurm job array and the merge as a job that waits for it
# (--dependency=afterok). docs/scale-out.md walks through it.
#
#   docs/slurm/submit.sh CORPUS KIND COMPONENT SHARDS OUT [sbatch options...]
#   EMO=/opt/emokit/bin/emo EMO_EXTRACT_ARGS="--preset study-a" docs/slurm/submit.sh \
#       /data/ravdess ravdess handcrafted 16 /scratch/ravdess-hc --partition=cpu --time=01:00:00
#
# Writes OUT/jobs.env (ARRAY_JOB, MERGE_JOB, SHARDS) and prints the same lines; logs go to OUT/logs/. The merged
# store is OUT/features.sqlite. A failed task: docs/slurm/retry-task.sh OUT K.
set -euo pipefail
if [ $# -lt 5 ]; then sed -n '2,11p' "$0" >&2; exit 2; fi
corpus=$1 kind=$2 component=$3 shards=$4 out=$5; shift 5
case $shards in ''|*[!0-9]*|0) echo "submit: SHARDS must be a positive whole number (got '$shards')" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/logs" "$out/shards"
out=$(cd "$out" && pwd)
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")
emo=${EMO:-$(command -v emo || true)}
[ -n "$emo" ] && [ -x "$emo" ] || { echo "submit: set EMO to the absolute path of the emo executable" >&2; exit 2; }
export EMO=$emo EMO_CORPUS=$corpus EMO_KIND=$kind EMO_COMPONENT=$component EMO_OUT=$out EMO_SHARDS=$shards
export EMO_EXTRACT_ARGS=${EMO_EXTRACT_ARGS:-}
array=$(sbatch --parsable --export=ALL --array=1-"$shards" --output="$out/logs/extract-%A_%a.out" "$@" \
  "$here/extract-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency=afterok:"$array" --output="$out/logs/merge-%j.out" "$@" \
  "$here/merge.sbatch")
merge=${merge%%;*}
printf 'ARRAY_JOB=%s\nMERGE_JOB=%s\nSHARDS=%s\n' "$array" "$merge" "$shards" | tee "$out/jobs.env"
