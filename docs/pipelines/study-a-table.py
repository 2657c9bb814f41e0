#!/usr/bin/env python3
"""Prints the Study A handcrafted side-by-side table (markdown) from the run folders that
docs/pipelines/run-study-a-handcrafted.sh wrote: OUT_DIR/<model>-<protocol>-<scaling>/metrics.json.

usage: docs/pipelines/study-a-table.py OUT_DIR
"""
import json
import os
import sys

MODELS = [("early-mlp-dropout", "early-fusion MLP 1024→512→256, BN, 20 % dropout"),
          ("early-mlp", "early-fusion MLP 1024→512→256, BN, no dropout"),
          ("late-fusion", "late fusion, branch 512→256→128")]
PROTOCOLS = [("random", "random 80/20"), ("grouped", "grouped by text 80/20"), ("speaker", "speaker-independent 5-fold")]


def fmt(ms):
    return f"{100 * ms['mean']:.2f} ± {100 * ms['std']:.2f}"


def row(path, title, scaling, protocol):
    f = os.path.join(path, "metrics.json")
    if not os.path.exists(f):
        return f"| {title} | {scaling} | {protocol} | not run | | | | | | |"
    rep = json.load(open(f))
    peer = rep.get("peer") or {}
    emokit = rep["summaries"][0]["metrics"]
    n = emokit["accuracy"]["count"]
    if not peer or peer.get("missing"):
        why = peer.get("missing", "not asked")
        return (f"| {title} | {scaling} | {protocol} | {n} | {fmt(emokit['accuracy'])} | unavailable ({why}) | | "
                f"{fmt(emokit['macro-f1'])} | | |")
    rows = {r["metric"]: r for r in peer["rows"]}
    acc, f1 = rows["accuracy"], rows["macro-f1"]
    return (f"| {title} | {scaling} | {protocol} | {n} | {fmt(acc['emokit'])} | {fmt(acc['peer'])} | "
            f"{100 * acc['difference']:+.2f} | {fmt(f1['emokit'])} | {fmt(f1['peer'])} | "
            f"{'yes' if acc['withinOnePoint'] else '**no**'} |")


def main():
    out = sys.argv[1]
    print("| model | scaling | split | seeds × folds | EmoKit accuracy | peer accuracy | Δ (points) | "
          "EmoKit macro F1 | peer macro F1 | within 1 point |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scaling in ("standard", "none"):
        for key, title in MODELS:
            for p, ptitle in PROTOCOLS:
                print(row(os.path.join(out, f"{key}-{p}-{scaling}"), title, scaling, ptitle))


if __name__ == "__main__":
    main()
