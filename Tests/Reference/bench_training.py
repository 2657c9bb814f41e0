"""Peer side of `emo bench training`: one epoch of the large early-fusion MLP in PyTorch.

2364 inputs -> 1024 -> 512 -> 256 -> 7 (Linear -> BatchNorm1d -> ReLU per hidden layer), batch 32, Adam (lr 1e-3,
torch defaults), cross-entropy, seeded random data of the same shape EmoKit uses, shuffled every epoch. One
untimed warm-up epoch, then `--epochs` timed epochs. Prints one JSON object on the last stdout line.

Run: python Tests/Reference/bench_training.py --rows 3392 --epochs 3 --threads 2
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3392)
    ap.add_argument("--inputs", type=int, default=2364)
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(json.dumps({"missing": f"torch is not importable ({e}); pip install -r Tests/Reference/requirements.txt"}))
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.rows, args.inputs)
    y = torch.randint(0, args.classes, (args.rows,))
    layers, width = [], args.inputs
    for h in (1024, 512, 256):
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, args.classes))
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        perm = torch.randperm(args.rows)
        total = 0.0
        for start in range(0, args.rows, args.batch):
            idx = perm[start:start + args.batch]
            if idx.numel() < 2:
                continue
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        return total / args.rows

    epoch()  # warm-up
    times, losses = [], []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        losses.append(epoch())
        times.append(time.perf_counter() - t0)
    print(json.dumps({"epoch_seconds": times, "median_s": sorted(times)[(len(times) - 1) // 2], "losses": losses,
                      "torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(),
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
