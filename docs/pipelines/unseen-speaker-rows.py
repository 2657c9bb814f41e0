#!/usr/bin/env python3
"""The rows of docs/results.md "The unseen-speaker push" from the run folders (default /work/wt-push-runs), each
with the reference it is compared with; run names are <variant>-s42 (seed 42), -s123-2025 or -s3 (all three).

usage: docs/pipelines/unseen-speaker-rows.py [RUNS_DIR]
"""
import subprocess, sys
R = (sys.argv[1] if len(sys.argv) > 1 else "/work/wt-push-runs").rstrip("/") + "/"
def j(*names): return "+".join(R + n for n in names)
T = "docs/pipelines/unseen-speaker-table.py"
rows = [
 # label, run, ref, seeds note, kept
 ("1. baseline: `study-a` (65), global standard scaling, MLP 1024→512→256 BN", j("baseline-s42", "baseline-s123-2025"), None, "reference"),
 ("2. + per-speaker standard scaling, test speakers with their own statistics", j("per-speaker-s42", "per-speaker-s123-2025"), j("baseline-s42", "baseline-s123-2025"), "**kept**"),
 ("3. `egemaps-v02` (88) instead of `study-a`, global scaling", j("egemaps-s42"), j("baseline-s42"), "dropped alone (kept in 7)"),
 ("4. `egemaps-v02`, per-speaker", j("egemaps-per-speaker-s42", "egemaps-per-speaker-s123-2025"), j("per-speaker-s42", "per-speaker-s123-2025"), "superseded by 7"),
 ("5. `study-a` + `egemaps-v02` (153), per-speaker", j("egemaps-study-a-per-speaker-s42"), j("per-speaker-s42"), "superseded by 7"),
 ("6. richer functionals (418), per-speaker", j("rich-per-speaker-s42"), j("per-speaker-s42"), "superseded by 7"),
 ("7. richer functionals + `egemaps-v02` (506), per-speaker", j("rich-egemaps-per-speaker-s42", "rich-egemaps-per-speaker-s123-2025"), j("per-speaker-s42", "per-speaker-s123-2025"), "**kept**"),
 ("8. 7 + validation part grouped by speaker (early stopping on unseen speakers)", j("rich-egemaps-per-speaker-speaker-val-s42"), j("rich-egemaps-per-speaker-s42"), "dropped"),
 ("9. 7 + balanced class weights", j("rich-egemaps-per-speaker-balanced-s42"), j("rich-egemaps-per-speaker-s42"), "dropped"),
 ("10. 7 with the logistic head", j("rich-egemaps-per-speaker-logistic-s42", "rich-egemaps-per-speaker-logistic-s123-2025"), j("rich-egemaps-per-speaker-s42", "rich-egemaps-per-speaker-s123-2025"), "dropped (11 is better)"),
 ("11. 7 with MLP 512→256 BN, dropout 0.3", j("rich-egemaps-per-speaker-dropout-s42", "rich-egemaps-per-speaker-dropout-s123-2025"), j("rich-egemaps-per-speaker-s42", "rich-egemaps-per-speaker-s123-2025"), "**kept**"),
 ("12. 7 on speech only: leading/trailing silence trimmed (30 dB below the clip's peak frame)", j("rich-egemaps-per-speaker-trim-s42", "rich-egemaps-per-speaker-trim-s123-2025"), j("rich-egemaps-per-speaker-s42", "rich-egemaps-per-speaker-s123-2025"), "**kept**"),
 ("13. 12 + 11's head (trimmed, MLP 512→256 BN, dropout 0.3): **best**", j("rich-egemaps-per-speaker-trim-dropout-s3"), j("rich-egemaps-per-speaker-trim-s42", "rich-egemaps-per-speaker-trim-s123-2025"), "**kept: best**"),
 ("14. 12 with the logistic head", j("rich-egemaps-per-speaker-trim-logistic-s3"), j("rich-egemaps-per-speaker-trim-dropout-s3"), "dropped"),
 ("15. 12 with the `rbf-features` head (2048 random Fourier features, γ = 1/C, lr 1e-2)", j("rich-egemaps-per-speaker-trim-rbf-s42"), j("rich-egemaps-per-speaker-trim-dropout-s3"), "dropped"),
 ("16. 13 trimmed at 20 dB instead of 30 dB", j("rich-egemaps-per-speaker-trim20-dropout-s3"), j("rich-egemaps-per-speaker-trim-dropout-s3"), "dropped"),
 ("17. 13 trimmed at 40 dB instead of 30 dB", j("rich-egemaps-per-speaker-trim40-dropout-s3"), j("rich-egemaps-per-speaker-trim-dropout-s3"), "dropped"),
 ("ablation: 13 with global standard scaling (no per-speaker statistics)", j("rich-egemaps-trim-dropout-global-s3"), j("rich-egemaps-per-speaker-trim-dropout-s3"), "(ablation)"),
]
import re
print("| idea | spec (`study-a-unseen-speaker-…`) | seeds × folds | accuracy (pooled) | RAVDESS | TESS | macro F1 | against | Δ vs current best (points) | paired Δ per fold (mean ± std, folds better) | kept |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
number = {run: label.split(".")[0] for label, run, ref, kept in rows}
for label, run, ref, kept in rows:
    args = ["python3", T] + (["--ref", ref] if ref else []) + [run]
    try:
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    except Exception as e:
        print(f"| {label} | missing ({e.__class__.__name__}) |"); continue
    cells = [c.strip() for c in out.strip("|").split("|")]
    if not ref: cells[6], cells[7] = "–", "–"
    variant = re.sub(r"-s(42|3|123-2025)$", "", run.split("+")[0].rsplit("/", 1)[1])
    against = "–"
    if ref:
        against = number.get(ref) or next((number[r] + " (seed 42)" for r in number if r.split("+")[0] == ref), "?")
    print("| " + " | ".join([label, f"`{variant}`"] + cells[1:6] + [against] + cells[6:8] + [kept]) + " |")
