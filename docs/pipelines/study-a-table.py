#!/usr/bin/env python3
"""Prints the Study A handcrafted side-by-side table (markdown) from the run folders that
docs/pipelines/run-study-a-handcrafted.sh wrote: OUT_DIR/<model>-<protocol>-<scaling>/metrics.json.

usage: docs/pipelines/study-a-table.py OUT_DIR [--metric accuracy|macro-f1]
"""
import json
import os
import sys

MODELS = [("early-mlp-dropout", "early-fusion MLP 1024→512→256, BN, 20 % dropout"),
          ("early-mlp", "early-fusion MLP 1024→512→256, BN, no dropout"),
          ("late-fusion", "late fusion, branch 512→256→128")]
PROTOCOLS = [("random", "random 80/20"), ("grouped", "grouped by text 80/20"), ("speaker", "speaker-independent 5-fold")]


def cell(path, metric):
    f = os.path.join(path, "metrics.json")
    if not os.path.exists(f):
        return "not run"
    rep = json.load(open(f))
    peer = rep.get("peer")
    emokit = rep["summaries"][0]["metrics"].get(metric)
    if emokit is None:
        return "—"
    e = f"{100 * emokit['mean']:.2f} ± {100 * emokit['std']:.2f}"
    if not peer or peer.get("missing"):
        return f"{e} \\| peer unavailable"
    row = next((r for r in peer["rows"] if r["metric"] == metric), None)
    if row is None:
        return f"{e} \\| —"
    p = f"{100 * row['peer']['mean']:.2f} ± {100 * row['peer']['std']:.2f}"
    d = 100 * row["difference"]
    return f"{e} \\| {p} \\| {d:+.2f}{'' if row['withinOnePoint'] else ' ✗'} (n={row['emokit']['count']})"


def main():
    out = sys.argv[1]
    metric = sys.argv[sys.argv.index("--metric") + 1] if "--metric" in sys.argv else "accuracy"
    print("| model | scaling | " + " | ".join(p[1] + ": EmoKit \\| peer \\| Δ" for p in PROTOCOLS) + " |")
    print("|---|---|" + "---|" * len(PROTOCOLS))
    for scaling in ("standard", "none"):
        for key, title in MODELS:
            cells = [cell(os.path.join(out, f"{key}-{p}-{scaling}"), metric) for p, _ in PROTOCOLS]
            print(f"| {title} | {scaling} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
