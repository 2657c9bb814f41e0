#!/usr/bin/env python3
"""Prints the corpus-aware protocol rows (markdown) from `emo run --peer` folders: pooled and per-corpus accuracy and
macro F1 of EmoKit and the peer (mean ± std, ddof 1, over seeds × folds), and the overlap each fold reported.

usage: docs/pipelines/corpus-protocols-table.py RUN_DIR...   (each RUN_DIR holds the metrics.json `emo run` wrote)
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


def cells(run, key):
    pooled = [f["metrics"][key] for f in run["folds"]]
    corpora = sorted({c for f in run["folds"] for c in (f.get("perCorpus") or {})})
    per = {c: [f["perCorpus"][c][key] for f in run["folds"] if c in (f.get("perCorpus") or {})] for c in corpora}
    return pooled, per


def main(dirs):
    print("| run | split | seeds × folds | corpora (train / test) | shared speakers / texts (max over folds) | "
          "EmoKit accuracy (pooled) | peer accuracy (pooled) | EmoKit per corpus | peer per corpus | "
          "EmoKit macro F1 | peer macro F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in dirs:
        rep = json.load(open(os.path.join(d, "metrics.json")))
        emokit = rep["runs"][0]
        peer = rep["runs"][1] if len(rep["runs"]) > 1 else None
        sides = sorted({" + ".join(f["overlap"].get("trainCorpora", [])) + " / " + " + ".join(f["overlap"].get("testCorpora", []))
                        for f in emokit["folds"]})
        spk = max(len(f["overlap"]["sharedSpeakers"]) for f in emokit["folds"])
        txt = max(len(f["overlap"]["sharedTexts"]) for f in emokit["folds"])
        acc, acc_per = cells(emokit, "accuracy")
        f1, _ = cells(emokit, "macroF1")
        row = [emokit["model"], emokit["runProtocol"]["split"], str(len(emokit["folds"])), "; ".join(sides), f"{spk} / {txt}",
               ms(acc)]
        if peer:
            pacc, pacc_per = cells(peer, "accuracy")
            pf1, _ = cells(peer, "macroF1")
        else:
            pacc, pacc_per, pf1 = [], {}, []
        row += [ms(pacc), ", ".join(f"{c} {ms(v)}" for c, v in acc_per.items()) or "–",
                ", ".join(f"{c} {ms(v)}" for c, v in pacc_per.items()) or "–", ms(f1), ms(pf1)]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])
