"""Reference fixtures for EmoKit's trainer and trainable plugins (Tests/TrainingTests/Fixtures/training_parity.json).

PyTorch builds the same networks as the Swift components (same parameter names), the script dumps the initial
weights, the data and the batch order, runs a few optimiser steps with torch.optim, and dumps the per-epoch mean
losses and the final weights and batch-norm statistics. The Swift test loads the same initial weights, trains
with the host trainer (no shuffling, no dropout), and compares.

Run: /work/refenv/bin/python Tests/Reference/training_fixtures.py   (needs torch; see requirements.txt)
"""
import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "TrainingTests", "Fixtures", "training_parity.json")


def mlp(in_features, hidden, out, batch_norm, norm_after):
    layers = []
    width = in_features
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm and not norm_after:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        if batch_norm and norm_after:
            layers.append(nn.BatchNorm1d(h))
        width = h
    if out is not None:
        layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


class Chain(nn.Module):
    """[late fusion or early fusion] -> classifier, with EmoKit's parameter names."""

    def __init__(self, groups, branch, head_hidden, classes, batch_norm, norm_after):
        super().__init__()
        self.groups = groups
        if branch is None:
            self.branches = None
            width = sum(groups)
        else:
            self.branches = nn.ModuleList([mlp(c, branch, None, batch_norm, norm_after) for c in groups])
            width = branch[-1] * len(groups)
        self.net = mlp(width, head_hidden, classes, batch_norm, norm_after)

    def forward(self, xs):
        if self.branches is None:
            h = torch.cat(xs, dim=1)
        else:
            h = torch.cat([b(x) for b, x in zip(self.branches, xs)], dim=1)
        return self.net(h)

    def zero_gradient_names(self):
        """Biases of Linear layers feeding BatchNorm directly (their true gradient is exactly 0: the batch mean
        removes them), plus the running means that track them. Rounding noise (~1e-9) is all either framework
        sees there, and Adam normalises noise into steps of up to lr, so these drift differently by design."""
        names = []
        for prefix, module in self.named_modules():
            if isinstance(module, nn.Sequential):
                mods = list(module)
                for i in range(len(mods) - 1):
                    if isinstance(mods[i], nn.Linear) and isinstance(mods[i + 1], nn.BatchNorm1d):
                        names += [f"{prefix}.{i}.bias", f"{prefix}.{i + 1}.running_mean"]
        return names

    def emokit_state(self):
        """state_dict without num_batches_tracked, keys as the Swift components name them."""
        out = {}
        for k, v in self.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            out[k] = v.detach().reshape(-1).tolist()
        return out


def run_case(name, seed, groups, branch, head_hidden, classes, batch_norm, norm_after, n, batch, epochs, optimizer, lr,
             l2=0.0, weight_decay=0.0, clip=None, label_smoothing=0.0, class_weights=None):
    torch.manual_seed(seed)
    model = Chain(groups, branch, head_hidden, classes, batch_norm, norm_after)
    init = model.emokit_state()
    xs = [torch.randn(n, c) * 1.5 for c in groups]
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n)]
    # Component-requested L2 (the Swift MLP's `l2`) is coupled weight decay on the head's Linear weights only.
    decayed = [p for k, p in model.named_parameters() if k.startswith("net.") and k.endswith("weight") and p.dim() == 2]
    others = [p for k, p in model.named_parameters() if not (k.startswith("net.") and k.endswith("weight") and p.dim() == 2)]
    if optimizer == "adam":
        opt = torch.optim.Adam([{"params": decayed, "weight_decay": l2}, {"params": others, "weight_decay": 0.0}], lr=lr)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(optimizer)
    weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)
    model.train()
    epoch_losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, n, batch):
            idx = slice(start, start + batch)
            opt.zero_grad()
            loss = loss_fn(model([x[idx] for x in xs]), labels[idx])
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total += loss.item() * labels[idx].numel()
        epoch_losses.append(total / n)
    model.eval()
    with torch.no_grad():
        eval_logits = model([x for x in xs])
    return {
        "name": name, "groups": groups, "branch": branch, "head_hidden": head_hidden, "classes": classes,
        "batch_norm": batch_norm, "norm_after": norm_after, "zero_gradient": model.zero_gradient_names(), "batch": batch, "epochs": epochs, "optimizer": optimizer, "lr": lr, "l2": l2,
        "weight_decay": weight_decay, "clip": clip, "label_smoothing": label_smoothing, "class_weights": class_weights,
        "inputs": [x.reshape(-1).tolist() for x in xs], "labels": labels.tolist(), "init": init,
        "epoch_losses": epoch_losses, "final": model.emokit_state(), "eval_logits": eval_logits.reshape(-1).tolist(),
    }


def main():
    torch.set_num_threads(1)
    cases = [
        run_case("early-mlp-batchnorm-after-relu-adam", seed=7, groups=[6, 4], branch=None, head_hidden=[16, 8],
                 classes=4, batch_norm=True, norm_after=True, n=64, batch=16, epochs=3, optimizer="adam", lr=1e-2,
                 l2=1e-3, label_smoothing=0.1, class_weights=[1.0, 2.0, 0.5, 1.5]),
        run_case("late-logistic-adamw-clip", seed=11, groups=[5, 3], branch=[6], head_hidden=[], classes=3,
                 batch_norm=True, norm_after=True, n=48, batch=12, epochs=3, optimizer="adamw", lr=5e-3,
                 weight_decay=0.01, clip=0.5),
        run_case("early-mlp-batchnorm-before-relu-adam", seed=13, groups=[6, 4], branch=None, head_hidden=[16, 8],
                 classes=4, batch_norm=True, norm_after=False, n=64, batch=16, epochs=3, optimizer="adam", lr=1e-2,
                 l2=1e-3),
    ]
    meta = {"torch": torch.__version__, "python": sys.version.split()[0], "script": "Tests/Reference/training_fixtures.py"}
    with open(OUT, "w") as f:
        json.dump({"meta": meta, "cases": cases}, f)
    print(json.dumps({"written": os.path.relpath(OUT), "bytes": os.path.getsize(OUT), **meta}))


if __name__ == "__main__":
    main()
