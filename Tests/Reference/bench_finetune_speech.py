#!/usr/bin/env python3
"""Peer side of `emo bench finetune --speech MODEL`: training steps of a wav2vec2-family encoder fine-tuned end to
end (transformers in train mode; feature encoder frozen as `freeze_feature_encoder()`; dropouts, layerdrop and
SpecAugment time masking all off, as on EmoKit's side (`dropout: false`), so both sides compute the same function) + mean pooling over
frames + nn.Linear(C, K), cross-entropy, AdamW (encoder lr 3e-5, head 1e-3, weight decay 0.01), clip_grad_norm_ 1.0:
the same checkpoint, clips, batches and threads as EmoKit's side.

    /work/refenv/bin/python Tests/Reference/bench_finetune_speech.py --model FOLDER --clips CLIPS.json --batch 4 \
        --steps 5 --threads 2

CLIPS.json (written by emo bench finetune): {"samples": S, "clips": B·(steps+1) lists of S floats (16 kHz, already
cropped/padded and normalised), "labels": [...], "classes": K}. The first step is a warm-up. A step is forward,
backward, clip and update. Prints one JSON object: seconds per step (median, and each), peak resident memory of the
process (VmHWM) and the resident memory before the model was loaded.
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoConfig, AutoModel

from reference_common import rss_mb


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--clips", required=True)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="model.gradient_checkpointing_enable() (each layer re-run during backward)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.clips, encoding="utf-8") as f:
        given = json.load(f)
    clips = torch.tensor(given["clips"], dtype=torch.float32)
    labels = torch.tensor([int(v) for v in given["labels"]])
    before = rss_mb()
    config = AutoConfig.from_pretrained(args.model)
    for key in ("layerdrop", "mask_time_prob", "mask_feature_prob", "hidden_dropout", "attention_dropout",
                "activation_dropout", "feat_proj_dropout"):
        setattr(config, key, 0.0)
    encoder = AutoModel.from_pretrained(args.model, config=config)
    encoder.freeze_feature_encoder()
    if args.gradient_checkpointing:
        encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    head = torch.nn.Linear(config.hidden_size, int(given["classes"]))
    trained = [q for q in encoder.parameters() if q.requires_grad]
    opt = torch.optim.AdamW([{"params": trained, "lr": 3e-5}, {"params": head.parameters(), "lr": 1e-3}],
                            weight_decay=0.01)
    params = trained + list(head.parameters())
    encoder.train()
    times, losses = [], []
    for s in range(args.steps + 1):
        batch = slice(s * args.batch, (s + 1) * args.batch)
        t0 = time.perf_counter()
        h = encoder(clips[batch]).last_hidden_state
        loss = torch.nn.functional.cross_entropy(head(h.mean(1)), labels[batch])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if s > 0:
            times.append(time.perf_counter() - t0)
            losses.append(float(loss))
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "threads": args.threads,
                      "step_seconds": times, "median_s": statistics.median(times),
                      "train_loss": statistics.mean(losses), "losses": losses,
                      "trained_parameters": sum(q.numel() for q in trained),
                      "peak_rss_mb": rss_mb("VmHWM"),
                      "rss_before_model_mb": before}))


if __name__ == "__main__":
    main()
