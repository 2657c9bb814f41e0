#!/usr/bin/env python3
"""Captum reference for waveform attribution through a speech encoder (Tests/EmoPipelineTests/WaveformExplainTests).

Chain (dimension legend: B batch, T samples, F frames, C channels, K classes):
  wave [B, T] -> per-clip zero-mean/unit-variance normalisation (Wav2Vec2FeatureExtractor's do_normalize,
  (x - mean) / sqrt(var + 1e-7), written in torch so it is differentiated) -> Wav2Vec2Model (the tiny random-weight
  fixture Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base) -> mean of last_hidden_state over frames [B, C]
  -> Linear(C, K) with fixed-seed weights -> softmax [B, K].

Cases (target = the argmax class of the input):
  ig:        zero baseline, gausslegendre and riemann_trapezoid, n_steps 16
  ig_given:  a fixed-seed noise baseline (completeness check: with the zero baseline the normalisation makes the
             chain scale-invariant away from 0, so almost all of F(x) - F(0) happens at alpha < 1e-3 and a few
             steps cannot integrate it), gausslegendre, n_steps 32
  occlusion: window 100, stride 50 samples, baseline 0

Writes Tests/EmoPipelineTests/Fixtures/waveform/waveform_explain.json.
Usage: /work/refenv/bin/python Tests/Reference/waveform_explain_reference.py
"""
import json
import os

import captum
import numpy as np
import torch
import transformers
from captum.attr import IntegratedGradients, Occlusion
from transformers import Wav2Vec2Model

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINT = os.path.join(HERE, "..", "EmoModelsTests", "Fixtures", "encoders", "wav2vec2-base")
OUT = os.path.join(HERE, "..", "EmoPipelineTests", "Fixtures", "waveform", "waveform_explain.json")
SAMPLES = 800
CLASSES = 4


def flat(t):
    """Float32 values as the shortest decimal that reads back to the same float32 (9 significant digits)."""
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


class Chain(torch.nn.Module):
    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, wave):  # wave [B, T]
        mean = wave.mean(dim=1, keepdim=True)
        var = ((wave - mean) ** 2).mean(dim=1, keepdim=True)
        x = (wave - mean) / torch.sqrt(var + 1e-7)
        pooled = self.encoder(x).last_hidden_state.mean(dim=1)  # [B, C]
        return torch.softmax(self.head(pooled), dim=1)  # [B, K]


def main():
    torch.manual_seed(0)
    encoder = Wav2Vec2Model.from_pretrained(CHECKPOINT).eval()
    c = encoder.config.hidden_size
    head = torch.nn.Linear(c, CLASSES)
    with torch.no_grad():
        head.weight.copy_(torch.randn(CLASSES, c) * 2.0)
        head.bias.copy_(torch.randn(CLASSES) * 0.1)
    chain = Chain(encoder, head).eval()
    g = torch.Generator().manual_seed(1)
    t = torch.arange(SAMPLES, dtype=torch.float32) / 16000
    wave = (0.3 * torch.sin(2 * np.pi * 220 * t) * torch.linspace(0.2, 1.0, SAMPLES)
            + 0.05 * torch.randn(SAMPLES, generator=g)).unsqueeze(0).float()  # [1, T]
    given = (0.05 * torch.randn(1, SAMPLES, generator=g)).float()
    with torch.no_grad():
        probs = chain(wave)
        target = int(probs.argmax(1))
        f_x = float(probs[0, target])
        f_zero = float(chain(torch.zeros_like(wave))[0, target])
        f_given = float(chain(given)[0, target])
    ig = IntegratedGradients(chain)
    cases = []
    for method in ["gausslegendre", "riemann_trapezoid"]:
        attr, delta = ig.attribute(wave, baselines=torch.zeros_like(wave), target=target, n_steps=16, method=method,
                                   return_convergence_delta=True)
        cases.append({"baseline": "zero", "method": method, "n_steps": 16,
                      "attributions": tensor_json(attr), "delta": flat(delta)})
    attr, delta = ig.attribute(wave, baselines=given, target=target, n_steps=32, method="gausslegendre",
                               return_convergence_delta=True)
    cases.append({"baseline": "given", "method": "gausslegendre", "n_steps": 32,
                  "attributions": tensor_json(attr), "delta": flat(delta)})
    occ = Occlusion(chain).attribute(wave, sliding_window_shapes=(100,), strides=(50,), baselines=0.0, target=target,
                                     perturbations_per_eval=4)
    fixture = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "captum": captum.__version__},
        "checkpoint": "Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base",
        "head": {"weight": tensor_json(head.weight), "bias": tensor_json(head.bias)},
        "input": tensor_json(wave), "given_baseline": tensor_json(given), "target": target,
        "probabilities": flat(probs), "f_x": f_x, "f_zero": f_zero, "f_given": f_given,
        "ig": cases,
        "occlusion": {"window": 100, "stride": 50, "baseline": 0.0, "attributions": tensor_json(occ)},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, captum {captum.__version__}")
    print(f"wrote {OUT}: target {target}, F(x) {f_x:.6f}, F(0) {f_zero:.6f}, F(given) {f_given:.6f}")
    for case in cases:
        s = sum(case["attributions"]["data"])
        print(f"  ig {case['baseline']} {case['method']} n={case['n_steps']}: sum {s:.6f} delta {case['delta']}")


if __name__ == "__main__":
    main()
