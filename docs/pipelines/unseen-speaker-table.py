#!/usr/bin/env python3
"""Prints the unseen-speaker push rows (issue 20, docs/results.md) from `emo run` folders: pooled accuracy, per-corpus
accuracy (RAVDESS / TESS: each corpus's test items in the folds that test it), macro F1 (mean ± std, ddof 1, over
seeds × folds) and Δ accuracy against a reference run (the best so far), seed-matched: only the seeds both runs have.

usage: docs/pipelines/unseen-speaker-table.py [--ref RUN_DIR] RUN_DIR...   (RUN_DIR: a folder, or folders joined by +)
"""
import json
import os
import statistics
import sys


def ms(values):
    if not values:
        return "–"
    m = 100 * statistics.mean(values)
    s = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.2f} ± {s:.2f}"


def load(arg):
    """One run folder, or several joined with '+' (e.g. seed 42 screened first, then seeds 123 and 2025): their
    folds are pooled."""
    runs = [json.load(open(os.path.join(d, "metrics.json")))["runs"][0] for d in arg.split("+")]
    run = dict(runs[0])
    run["folds"] = [f for r in runs for f in r["folds"]]
    return run


def seed_of(fold):
    return fold.get("seed", fold.get("runProtocol", {}).get("seed"))


def per_corpus(run, corpus, key="accuracy"):
    return [f["perCorpus"][corpus][key] for f in run["folds"] if corpus in (f.get("perCorpus") or {})]


def paired(run, ref):
    """Accuracy differences fold by fold (same seed, same fold index: the same test speakers), in points."""
    base = {(seed_of(f), f["split"]): f["metrics"]["accuracy"] for f in ref["folds"]}
    return [100 * (f["metrics"]["accuracy"] - base[(seed_of(f), f["split"])]) for f in run["folds"]
            if (seed_of(f), f["split"]) in base]


def mean_acc(run, seeds=None):
    vals = [f["metrics"]["accuracy"] for f in run["folds"] if seeds is None or seed_of(f) in seeds]
    return 100 * statistics.mean(vals)


def main(args):
    ref = None
    if args[:1] == ["--ref"]:
        ref = load(args[1])
        args = args[2:]
    print("| run | seeds × folds | accuracy (pooled) | RAVDESS | TESS | macro F1 | Δ accuracy vs reference (points) | "
          "paired Δ per fold: mean ± std, folds better |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args:
        run = load(d)
        acc = [f["metrics"]["accuracy"] for f in run["folds"]]
        f1 = [f["metrics"]["macroF1"] for f in run["folds"]]
        delta, pair = "–", "–"
        if ref is not None:
            d_folds = paired(run, ref)
            if len(d_folds) > 1:
                pair = (f"{statistics.mean(d_folds):+.2f} ± {statistics.stdev(d_folds):.2f}, "
                        f"{sum(x > 0 for x in d_folds)}/{len(d_folds)}")
            seeds = {seed_of(f) for f in run["folds"]} & {seed_of(f) for f in ref["folds"]}
            if seeds and None not in seeds:
                delta = f"{mean_acc(run, seeds) - mean_acc(ref, seeds):+.2f}"
        print("| " + " | ".join([" + ".join(os.path.basename(os.path.normpath(x)) for x in d.split("+")), str(len(acc)), ms(acc),
                                 ms(per_corpus(run, "ravdess")), ms(per_corpus(run, "tess")), ms(f1), delta, pair]) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])
