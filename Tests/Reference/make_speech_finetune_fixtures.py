#!/usr/bin/env python3
"""Reference weight gradients for fine-tuning the speech encoders (Tests/SpeechEncodersTests/SpeechFineTuneTests.swift).

Run from the repository root with the reference environment (Tests/Reference/requirements.txt):

    /work/refenv/bin/python Tests/Reference/make_speech_finetune_fixtures.py

Reads the tiny random-weight checkpoints Tests/Reference/make_encoder_fixtures.py built under
Tests/EmoModelsTests/Fixtures/encoders/<case>/ (wav2vec2-base, wav2vec2-large, hubert-base, hubert-large,
wavlm-base, wavlm-large: post-LN and pre-LN ("stable") layouts, group- and layer-norm feature encoders, with and
without conv bias, WavLM's gated relative position bias) and their padded two-clip batch (`batch.input`
[2, 1200], already normalised, and `batch.mask`: clips of 1200 and 830 samples). For each, in evaluation mode,
float32, with the attention mask:

    pooled[b, c] = mean of last_hidden_state[b, t, c] over clip b's real frames      (the components' mean pooling)
    loss = Σ_{b,c} pooled[b, c] · R[b, c],   R[b, c] = sin(0.37 (b C + c) + 0.1)

and writes Tests/EmoModelsTests/Fixtures/encoders/speech_finetune_gradients.json: per case the loss, the pooled
vectors, and d loss / d every parameter (torch.autograd; every parameter requires grad, the conv feature encoder
included) under transformers' names, each summarised by its L2 norm, its largest |value| and 48 samples
(index, value) at fixed positions, the argmax among them (make_finetune_fixtures.py's summary).
For wav2vec2-base and wavlm-base it also adds `finite_differences`: for a few tensors (a conv weight, the
positional conv's g and v, a feed-forward weight, a norm weight; WavLM's gate and relative position table), the
entry of largest autograd |gradient|, differentiated by a central difference of the same loss in float64
(model.double(), h = 1e-4: truncation ~1e-8, rounding ~1e-12), so the Swift gradients are checked against a
derivative that autograd did not compute.
Deterministic: no randomness beyond the fixed sample positions (seeded by the parameter name).
"""
import json
import math
import os

import numpy as np
import torch
import transformers
from safetensors.torch import load_file
from transformers import HubertModel, Wav2Vec2Model, WavLMModel

from make_finetune_fixtures import SAMPLES, summarise  # one gradient summary (48 samples + the argmax) for every fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "EmoModelsTests", "Fixtures", "encoders")
CASES = {
    "wav2vec2-base": Wav2Vec2Model, "wav2vec2-large": Wav2Vec2Model,
    "hubert-base": HubertModel, "hubert-large": HubertModel,
    "wavlm-base": WavLMModel, "wavlm-large": WavLMModel,
}


FD_TENSORS = {
    "wav2vec2-base": ["feature_extractor.conv_layers.1.conv.weight", "feature_extractor.conv_layers.0.layer_norm.weight",
                      "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
                      "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
                      "encoder.layers.0.feed_forward.intermediate_dense.weight", "encoder.layers.1.final_layer_norm.weight",
                      "feature_projection.projection.weight"],
    "wavlm-base": ["encoder.layers.1.attention.gru_rel_pos_linear.weight", "encoder.layers.0.attention.gru_rel_pos_const",
                   "encoder.layers.0.attention.rel_attn_embed.weight", "encoder.layers.1.attention.k_proj.weight",
                   "encoder.pos_conv_embed.conv.parametrizations.weight.original0"],
}


def loss_of(model, x, mask):
    """Σ pooled · R for one forward (pooled = mean of last_hidden_state over real frames)."""
    last = model(x, attention_mask=mask).last_hidden_state  # [B, T, C]
    frame_mask = model._get_feature_vector_attention_mask(last.shape[1], mask).to(last.dtype)  # [B, T]
    pooled = (last * frame_mask[..., None]).sum(1) / frame_mask.sum(1, keepdim=True)
    b, c = pooled.shape
    r = torch.tensor([[math.sin(0.37 * (i * c + k) + 0.1) for k in range(c)] for i in range(b)], dtype=last.dtype)
    return (pooled * r).sum(), pooled


def finite_differences(model, x, mask, names, grads, h=1e-4):
    model = model.double()
    x = x.double()
    params = dict(model.named_parameters())
    out = []
    with torch.no_grad():
        for name in names:
            p = params[name]
            i = int(np.argmax(np.abs(grads[name].reshape(-1).numpy())))
            flat = p.view(-1)
            w = flat[i].item()
            flat[i] = w + h
            up = loss_of(model, x, mask)[0].item()
            flat[i] = w - h
            down = loss_of(model, x, mask)[0].item()
            flat[i] = w
            out.append([name, i, (up - down) / (2 * h)])
    return out


def case(name, model_cls):
    folder = os.path.join(FIX, name)
    model = model_cls.from_pretrained(folder).float().eval()
    expected = load_file(os.path.join(folder, "expected.safetensors"))
    x = expected["batch.input"].float()
    mask = expected["batch.mask"].long()
    model.zero_grad()
    loss, pooled = loss_of(model, x, mask)
    loss.backward()
    grads = {}
    for pname, p in model.named_parameters():
        if p.grad is None:  # masked_spec_embed (unused in evaluation mode)
            continue
        grads[pname] = summarise(pname, p.grad)
    lengths = [int(v) for v in mask.sum(1)]
    result = {"name": name, "lengths": lengths, "loss": float(loss),
              "pooled": [float(v) for v in pooled.detach().reshape(-1)], "gradients": grads}
    if name in FD_TENSORS:
        raw = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        result["finite_differences"] = finite_differences(model, x, mask, FD_TENSORS[name], raw)
    return result


def main():
    torch.manual_seed(0)
    cases = [case(name, cls) for name, cls in CASES.items()]
    ref = {"source": f"make_speech_finetune_fixtures.py; torch {torch.__version__}, transformers {transformers.__version__}",
           "cases": cases}
    with open(os.path.join(FIX, "speech_finetune_gradients.json"), "w") as f:
        json.dump(ref, f)
    for c in cases:
        print(c["name"], len(c["gradients"]), "parameters, loss", c["loss"])


if __name__ == "__main__":
    main()
