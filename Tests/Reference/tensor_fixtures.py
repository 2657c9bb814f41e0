#!/usr/bin/env python3
"""Writes Tests/EmoTensorTests/Fixtures/torch_reference.json: torch.optim / schedule / loss results that the
EmoTensor tests compare against (OptimizerTests.swift). Fixed seed; run from the repository root:

    /work/refenv/bin/python Tests/Reference/tensor_fixtures.py
"""
import json
import os
import sys

import torch

torch.manual_seed(1234)
torch.set_num_threads(1)


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


shapes = [(3, 4), (5,)]
initial = [torch.randn(s) for s in shapes]
steps = 6
grads = [[torch.randn(s) for s in shapes] for _ in range(steps)]


def run(make_optimizer):
    params = [torch.nn.Parameter(p.clone()) for p in initial]
    opt = make_optimizer(params)
    history = []
    for k in range(steps):
        for p, g in zip(params, grads[k]):
            p.grad = g.clone()
        opt.step()
        history.append([floats(p) for p in params])
    return history


optimizers = {
    "sgd": dict(kind="sgd", lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
    "sgd_momentum": dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2, nesterov=False),
    "sgd_nesterov": dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True),
    "adam": dict(kind="adam", lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3),
    "adamw": dict(kind="adamw", lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=5e-2),
}
results = {}
for name, cfg in optimizers.items():
    c = dict(cfg)
    kind = c.pop("kind")
    if kind == "sgd":
        results[name] = dict(config=cfg, history=run(lambda ps: torch.optim.SGD(ps, **c)))
    elif kind == "adam":
        results[name] = dict(config={**cfg, "betas": list(cfg["betas"])},
                             history=run(lambda ps: torch.optim.Adam(ps, **c)))
    else:
        results[name] = dict(config={**cfg, "betas": list(cfg["betas"])},
                             history=run(lambda ps: torch.optim.AdamW(ps, **c)))

# Gradient clipping by global norm.
clip_params = [torch.nn.Parameter(p.clone()) for p in initial]
for p, g in zip(clip_params, grads[0]):
    p.grad = g.clone()
total = torch.nn.utils.clip_grad_norm_(clip_params, max_norm=0.5)
clip = dict(max_norm=0.5, total_norm=float(total), clipped=[floats(p.grad) for p in clip_params])

# ReduceLROnPlateau on a made-up validation loss curve.
metrics = [1.0, 0.9, 0.95, 0.91, 0.9, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
dummy = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(dummy, mode="min", factor=0.5, patience=2, threshold=1e-4,
                                                     cooldown=1, min_lr=0.01)
lrs = []
for m in metrics:
    plateau.step(m)
    lrs.append(dummy.param_groups[0]["lr"])
plateau_fixture = dict(metrics=metrics, factor=0.5, patience=2, threshold=1e-4, cooldown=1, min_lr=0.01, lrs=lrs)

# Cross-entropy with class weights and label smoothing: value and gradient.
logits = torch.randn(6, 4, requires_grad=True)
targets = torch.tensor([0, 3, 1, 1, 2, 3])
weights = torch.tensor([0.5, 2.0, 1.0, 1.5])
loss = torch.nn.functional.cross_entropy(logits, targets, weight=weights, label_smoothing=0.15)
loss.backward()
cross_entropy = dict(logits=floats(logits), targets=targets.tolist(), weights=floats(weights), label_smoothing=0.15,
                     loss=loss.item(), grad=floats(logits.grad))

# Batch norm (train step, then eval) against nn.BatchNorm1d.
bn = torch.nn.BatchNorm1d(3, momentum=0.1, eps=1e-5)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
    bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
bx = torch.randn(5, 3)
bn.train()
by_train = bn(bx)
bn.eval()
by_eval = bn(bx)
batch_norm = dict(x=floats(bx), weight=floats(bn.weight), bias=floats(bn.bias), train=floats(by_train),
                  eval=floats(by_eval), running_mean=floats(bn.running_mean), running_var=floats(bn.running_var))

# Encoder ops forward (and input gradients) in PyTorch, for the kernels' layouts.
F = torch.nn.functional
cx = torch.randn(2, 4, 11, requires_grad=True)
cw = torch.randn(6, 2, 3, requires_grad=True)
cb = torch.randn(6, requires_grad=True)
cy = F.conv1d(cx, cw, cb, stride=2, padding=2, dilation=2, groups=2)
cdy = torch.randn_like(cy)
cy.backward(cdy)
conv = dict(x=floats(cx), weight=floats(cw), bias=floats(cb), stride=2, padding=2, dilation=2, groups=2,
            y=floats(cy), y_shape=list(cy.shape), dy=floats(cdy), dx=floats(cx.grad), dw=floats(cw.grad),
            db=floats(cb.grad))
gx = torch.randn(2, 6, 5)
gg, gb = torch.randn(6), torch.randn(6)
group_norm = dict(x=floats(gx), gamma=floats(gg), beta=floats(gb), groups=3,
                  y=floats(F.group_norm(gx, 3, gg, gb, eps=1e-5)))
lx = torch.randn(3, 10) * 3 + 1
lg, lb = torch.randn(10), torch.randn(10)
layer_norm = dict(x=floats(lx), gamma=floats(lg), beta=floats(lb), y=floats(F.layer_norm(lx, (10,), lg, lb, eps=1e-5)))
ax = torch.linspace(-6, 6, 97)
gelu = dict(x=floats(ax), erf=floats(F.gelu(ax)), tanh=floats(F.gelu(ax, approximate="tanh")))
B, H, D, TQ, TK = 2, 2, 4, 3, 5
q, k, v = torch.randn(B, TQ, H * D), torch.randn(B, TK, H * D), torch.randn(B, TK, H * D)
bias = torch.randn(B, H, TQ, TK)
mask = torch.ones(B, TK, dtype=torch.bool)
mask[1, 3:] = False
heads = lambda t: t.view(B, t.shape[1], H, D).transpose(1, 2)
attn_mask = bias.masked_fill(~mask[:, None, None, :], float("-inf"))
ao = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), attn_mask=attn_mask)
attention = dict(q=floats(q), k=floats(k), v=floats(v), bias=floats(bias), mask=mask.int().reshape(-1).tolist(),
                 batch=B, heads=H, head_dim=D, tq=TQ, tk=TK, out=floats(ao.transpose(1, 2).reshape(B, TQ, H * D)))
encoder_ops = dict(conv=conv, group_norm=group_norm, layer_norm=layer_norm, gelu=gelu, attention=attention)

out = dict(torch=torch.__version__, encoder_ops=encoder_ops, seed=1234, shapes=[list(s) for s in shapes],
           initial=[floats(p) for p in initial], grads=[[floats(g) for g in step] for step in grads],
           optimizers=results, clip=clip, plateau=plateau_fixture, cross_entropy=cross_entropy, batch_norm=batch_norm)
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
path = os.path.join(root, "Tests", "EmoTensorTests", "Fixtures", "torch_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"torch {torch.__version__}, python {sys.version.split()[0]}: wrote {path}")
