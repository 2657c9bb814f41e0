#!/usr/bin/env bash
# Study A, handcrafted features only: the three models x {random 80/20, grouped by text 80/20, speaker-independent
# 5-fold} x {standard, none}, seeds 42, 123, 2025, each with the peer pipeline side by side (`emo run --peer`).
#
# usage: docs/pipelines/run-study-a-handcrafted.sh OUT_DIR [PEER_FEATURES] [CELLS...]
#   PEER_FEATURES: peer (default; the peer's own librosa + Praat features) or emokit (EmoKit's features, which
#                  separates training differences from feature differences)
#   CELLS: model:protocol:scaling triples to run (default: every cell, scaled ones first), e.g.
#          early-mlp-dropout:random:standard late-fusion:speaker:none
#          protocols: random, grouped (texts pooled, 80/20), speaker (5-fold), and, not in the default cells,
#          grouped5 (grouped-by-text 5-fold stratified by corpus), ravdess2tess and tess2ravdess (cross-corpus)
# environment: EMO (default .build/release/emo), EMO_RUN_ARGS (extra `emo run` arguments, e.g. --max-per-class 100),
#              EMO_REFERENCE_PYTHON, EMO_STORE, EMO_DATA as for `emo run`.
set -euo pipefail
out=${1:?usage: $0 OUT_DIR [peer|emokit] [model:protocol:scaling ...]}
features=${2:-peer}
shift $(( $# >= 2 ? 2 : 1 ))
emo=${EMO:-.build/release/emo}
cells=("$@")
if [ ${#cells[@]} -eq 0 ]; then
  for scaling in standard none; do
    for protocol in random grouped speaker; do
      for model in early-mlp-dropout early-mlp late-fusion; do cells+=("$model:$protocol:$scaling"); done
    done
  done
fi
mkdir -p "$out"
for cell in "${cells[@]}"; do
  IFS=: read -r model protocol scaling <<< "$cell"
  name="$model-$protocol-$scaling"
  python3 - "docs/pipelines/study-a-handcrafted-$model.json" "$out/$name.json" "$protocol" "$scaling" <<'EOF'
import json, sys
src, dst, protocol, scaling = sys.argv[1:]
spec = json.load(open(src))
spec["name"] = spec["name"] + f"-{protocol}-{scaling}"
spec["split"] = {"random": {"kind": "stratified", "testFraction": 0.2, "validationFraction": 0.1},
                 "grouped": {"kind": "grouped-by-text", "testFraction": 0.2, "validationFraction": 0.1},
                 "speaker": {"kind": "speaker-kfold", "folds": 5, "validationFraction": 0.1},
                 "grouped5": {"kind": "grouped-by-text", "folds": 5, "validationFraction": 0.1},
                 "ravdess2tess": {"kind": "cross-corpus", "train": ["ravdess"], "test": ["tess"], "validationFraction": 0.1},
                 "tess2ravdess": {"kind": "cross-corpus", "train": ["tess"], "test": ["ravdess"], "validationFraction": 0.1},
                 }[protocol]
spec["scaling"] = {"method": scaling}
spec["seeds"] = [42, 123, 2025]
spec["explainers"] = []
json.dump(spec, open(dst, "w"), indent=1)
EOF
  echo "== $name ($(date -u +%H:%M:%S))"
  # shellcheck disable=SC2086
  "$emo" run "$out/$name.json" --out "$out/$name" --peer --peer-features "$features" ${EMO_RUN_ARGS:-} > "$out/$name.log" 2>&1 \
    || echo "   failed: see $out/$name.log"
  grep -E "^  (Accuracy|Macro F1) |NOT met|met$|unavailable" "$out/$name.log" || true
done
