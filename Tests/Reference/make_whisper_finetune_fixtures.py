#!/usr/bin/env python3
"""Fine-tuning fixture for the whisper-encoder (Tests/TextEncodersTests/WhisperFineTuneTests.swift).

    /work/refenv/bin/python Tests/Reference/make_whisper_finetune_fixtures.py

Pinned: torch 2.13.0+cpu, transformers 5.23.0 (Tests/Reference/requirements.txt). Reads the tiny random
WhisperForConditionalGeneration of Tests/TextEncodersTests/Fixtures/tiny-whisper (make_whisper_hf_fixtures.py:
d_model 64, 2 encoder layers, 4 heads, FFN 128, fp16 on disk, computed here in float32) and writes
Tests/TextEncodersTests/Fixtures/whisper_finetune_gradients.json:

  mel          log-mel features [80, 2T] (T = 50 encoder frames: a clip-length window), N(0, 0.5²), seed 7;
               both sides start from these features, so the front end's small differences do not enter
  weights      R[c] = sin(0.37 c + 0.1)
  pooled       mean over the T frames of last_hidden_state (positions 0..<T of embed_positions)
  gradients    torch.autograd of loss = Σ_c pooled[c] · R[c] for every trainable encoder parameter, under
               Hugging Face's names (model.encoder.…; embed_positions is frozen by transformers and absent; k_proj has
               no bias): shape, norm, max |g|, and sampled entries [flat index in PyTorch's layout, value]
  finite_differences
               Float64 central differences (h = 1e-6) of the same loss on a float64 copy of the encoder, for a few
               entries, beside float64 autograd of the same entries
  thirty_seconds
               the same for Whisper's 30 s window (3000 mel frames, positions 0..<1500) with mean-std pooling over the
               first REAL = 40 frames only (what the component does for a 0.8 s clip): mel[m, j] =
               0.6 sin(0.05 j + 0.37 m) cos(0.011 j (m mod 7 + 1)) in float64 (libm, math.sin), cast to float32, so
               no mel array is stored; loss = Σ_k pooled[k] · R[k] over the 2C pooled values

The forward is WhisperEncoder's written out (make_whisper_hf_fixtures.encoder_states), which takes fewer than 3000
mel frames with the position table sliced; on 3000 frames it equals transformers' encoder (checked there).
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import WhisperForConditionalGeneration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_whisper_hf_fixtures import FIX, encoder_states, r  # noqa: E402

FRAMES = 50  # T encoder frames; the mel has 2T
REAL = 40  # real frames pooled in the 30 s case


def formula_mel(frames):
    """The 30 s case's features, from a formula both sides evaluate in float64 libm."""
    import math
    return torch.tensor([[0.6 * math.sin(0.05 * j + 0.37 * m) * math.cos(0.011 * j * (m % 7 + 1)) for j in range(frames)]
                         for m in range(80)], dtype=torch.float64).float()


def summaries(enc):
    """Gradient summaries of every trainable encoder parameter, under Hugging Face's names."""
    grads = {}
    for name, p in enc.named_parameters():
        if not p.requires_grad:
            continue
        g = p.grad.detach().numpy().astype(np.float64).flatten()
        count = g.size
        idx = sorted(set(np.linspace(0, count - 1, min(count, 24)).astype(int).tolist() + [int(np.abs(g).argmax())]))
        grads["model.encoder." + name] = {"shape": list(p.shape), "norm": float(np.linalg.norm(g)),
                                          "max_abs": float(np.abs(g).max()),
                                          "samples": [[i, float("%.9g" % g[i])] for i in idx]}
    return grads


def loss_of(enc, mel, weights):
    states = encoder_states(enc, mel)
    pooled = states[-1][0].mean(0)
    return (pooled * weights).sum(), pooled


def main():
    torch.manual_seed(7)
    model = WhisperForConditionalGeneration.from_pretrained(os.path.join(FIX, "tiny-whisper"), torch_dtype=torch.float32).eval()
    enc = model.model.encoder
    # WhisperEncoder.__init__ freezes the sinusoidal table (requires_grad_(False)); from_pretrained in transformers
    # 5.23 hands it back with requires_grad True, so freeze it again: it is not a trained weight.
    enc.embed_positions.requires_grad_(False)
    c = enc.config.d_model
    mel = torch.randn(80, 2 * FRAMES) * 0.5
    weights = torch.tensor([np.sin(0.37 * k + 0.1) for k in range(c)], dtype=torch.float32)
    loss, pooled = loss_of(enc, mel, weights)
    loss.backward()
    grads = summaries(enc)

    # Float64 central differences of a few entries.
    enc64 = copy.deepcopy(enc).double()
    mel64, w64 = mel.double(), weights.double()
    checks = []
    for name in ["layers.0.fc1.weight", "conv1.weight", "layers.1.self_attn.q_proj.weight", "layer_norm.weight"]:
        p = dict(enc64.named_parameters())[name]
        p64 = p.detach()
        enc64.zero_grad()
        loss_of(enc64, mel64, w64)[0].backward()
        analytic = p.grad.detach().flatten()
        i = int(analytic.abs().argmax())
        h = 1e-6
        with torch.no_grad():
            flat = p64.view(-1)
            old = flat[i].item()
            flat[i] = old + h
            up = loss_of(enc64, mel64, w64)[0].item()
            flat[i] = old - h
            down = loss_of(enc64, mel64, w64)[0].item()
            flat[i] = old
        checks.append({"name": "model.encoder." + name, "index": i, "finite_difference": (up - down) / (2 * h),
                       "autograd_float64": float(analytic[i])})

    # The 30 s window, mean-std pooled over the first REAL frames.
    enc.zero_grad()
    last = encoder_states(enc, formula_mel(3000))[-1][0, :REAL]
    pooled30 = torch.cat([last.mean(0), last.std(0, unbiased=False)])
    weights2 = torch.tensor([np.sin(0.37 * k + 0.1) for k in range(2 * c)], dtype=torch.float32)
    (pooled30 * weights2).sum().backward()
    thirty = {"mel_frames": 3000, "real_frames": REAL, "pooling": "mean-std", "pooled": r(pooled30.detach(), 8),
              "gradients": summaries(enc)}

    out = {"source": "torch %s, transformers %s: autograd of Σ mean_t(last_hidden_state) · R through the tiny-whisper "
                     "encoder (float32), mel N(0, 0.25) seed 7" % (torch.__version__, transformers.__version__),
           "mel_frames": 2 * FRAMES, "mel": r(mel, 8), "weights": r(weights, 9), "pooled": r(pooled.detach(), 8),
           "loss": float(loss), "gradients": grads, "finite_differences": checks,
           "thirty_seconds": thirty}
    with open(os.path.join(FIX, "whisper_finetune_gradients.json"), "w") as f:
        json.dump(out, f)
    print("wrote whisper_finetune_gradients.json: %d parameters" % len(grads))
    for c in checks:
        print(c)


if __name__ == "__main__":
    main()
