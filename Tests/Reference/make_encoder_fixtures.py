#!/usr/bin/env python3
"""Builds the tiny random-weight speech-encoder fixtures for Tests/EmoModelsTests (wav2vec2, HuBERT, WavLM).

Usage (from the repo root):
    /work/refenv/bin/python Tests/Reference/make_encoder_fixtures.py [--out Tests/EmoModelsTests/Fixtures/encoders]

For every case it writes a folder with the checkpoint exactly as Hugging Face saves it (`config.json`,
`model.safetensors`, `preprocessor_config.json`) and `expected.safetensors` holding, for two runs:
  single.*  one unpadded clip, B = 1
  batch.*   two clips of different lengths, zero-padded, with an attention mask (B = 2)
the tensors
  raw [B, N]                 waveform before the feature extractor's normalisation
  mask [B, N]                1 = real sample (float)
  input [B, N]               what the model sees (normalised per `preprocessor_config.json`)
  conv_features [B, T, C']   output of the convolutional feature encoder (transposed to frames first)
  hidden_states.{i} [B, T, C] every hidden state HF returns (i = 0 ... L)
  last_hidden_state [B, T, C]
  grad_input [B, N]          d(mean of last_hidden_state over valid frames and channels, summed over B) / d input
and `dtypes.safetensors` (f16/bf16 tensors plus their exact f32 values) for the loader tests, and
`wav2vec2-base-bin{,-f16}/pytorch_model.bin`: the wav2vec2-base weights as torch.save writes them (f32 and f16).
Fixed seeds; CPU; float32. Prints the versions it used.
"""
import argparse
import json
import os

import numpy as np
import torch
import transformers
import safetensors
from safetensors.torch import save_file
from transformers import (HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model,
                          WavLMConfig, WavLMModel)

TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
    conv_dim=(16, 16, 16), conv_kernel=(10, 3, 3), conv_stride=(5, 2, 2),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
    hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
    layerdrop=0.0, mask_time_prob=0.0, mask_feature_prob=0.0,
)

CASES = {
    # wav2vec2-base layout: group-norm feature encoder, post-LN transformer, no conv bias.
    "wav2vec2-base": (Wav2Vec2Config, Wav2Vec2Model, dict(feat_extract_norm="group", do_stable_layer_norm=False,
                                                          conv_bias=False)),
    # wav2vec2-large-lv60 layout: layer-norm feature encoder, pre-LN ("stable") transformer, conv bias, odd pos kernel.
    "wav2vec2-large": (Wav2Vec2Config, Wav2Vec2Model, dict(feat_extract_norm="layer", do_stable_layer_norm=True,
                                                           conv_bias=True, num_conv_pos_embeddings=15)),
    "hubert-base": (HubertConfig, HubertModel, dict(feat_extract_norm="group", do_stable_layer_norm=False,
                                                    conv_bias=False)),
    # hubert-large-ll60k layout: layer-norm encoder, stable LN, no feature-projection layer norm.
    "hubert-large": (HubertConfig, HubertModel, dict(feat_extract_norm="layer", do_stable_layer_norm=True,
                                                     conv_bias=True, feat_proj_layer_norm=False)),
    # wavlm-base-plus layout: gated relative position bias (small bucket table to keep the fixture small).
    "wavlm-base": (WavLMConfig, WavLMModel, dict(feat_extract_norm="group", do_stable_layer_norm=False,
                                                 conv_bias=False, num_buckets=32, max_bucket_distance=64)),
    "wavlm-large": (WavLMConfig, WavLMModel, dict(feat_extract_norm="layer", do_stable_layer_norm=True,
                                                  conv_bias=True, num_buckets=32, max_bucket_distance=64)),
}


def randomize(model, seed):
    """Gives every parameter non-trivial values (HF init leaves biases/norms at 0/1, which would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and "rel_attn_embed" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (1.0 if ("norm" in name and name.endswith(
                    "weight")) or "original0" in name or "weight_g" in name or "gru_rel_pos_const" in name else 0.0))


def waveforms(seed, lengths):
    """Speech-like test signals: a few harmonics with vibrato plus noise, per clip."""
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        t = np.arange(n) / 16000.0
        f0 = 120 + 40 * rng.random()
        x = sum((0.3 / k) * np.sin(2 * np.pi * k * f0 * t + 3 * np.sin(2 * np.pi * 5 * t)) for k in range(1, 5))
        x = x + 0.05 * rng.standard_normal(n)
        out.append((0.5 * x + 0.1).astype(np.float32))
    return out


def run(model, fe, clips, prefix, result):
    """Runs HF on `clips` (list of 1-D arrays) and stores every tensor under `prefix`."""
    n = max(len(c) for c in clips)
    raw = np.zeros((len(clips), n), np.float32)
    mask = np.zeros((len(clips), n), np.float32)
    for i, c in enumerate(clips):
        raw[i, :len(c)] = c
        mask[i, :len(c)] = 1
    batch = fe([c for c in clips], sampling_rate=16000, padding=True, return_attention_mask=True,
               return_tensors="pt")
    inp = batch["input_values"].float().clone().requires_grad_(True)
    am = batch["attention_mask"] if len(clips) > 1 else None
    out = model(inp, attention_mask=am, output_hidden_states=True)
    conv = model.feature_extractor(inp.detach()).transpose(1, 2)
    last = out.last_hidden_state
    if am is not None:
        frame_mask = model._get_feature_vector_attention_mask(last.shape[1], am).float()
    else:
        frame_mask = torch.ones(last.shape[:2])
    pooled = (last * frame_mask[..., None]).sum(1) / frame_mask.sum(1, keepdim=True)  # [B, C] mean over valid frames
    pooled.mean(-1).sum().backward()
    result[f"{prefix}.raw"] = torch.from_numpy(raw)
    result[f"{prefix}.mask"] = torch.from_numpy(mask)
    result[f"{prefix}.input"] = inp.detach()
    result[f"{prefix}.conv_features"] = conv.detach()
    result[f"{prefix}.frame_mask"] = frame_mask
    for i, h in enumerate(out.hidden_states):
        result[f"{prefix}.hidden_states.{i}"] = h.detach()
    result[f"{prefix}.last_hidden_state"] = last.detach()
    result[f"{prefix}.pooled_mean"] = pooled.detach()
    result[f"{prefix}.grad_input"] = inp.grad.detach()
    return len(out.hidden_states)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="Tests/EmoModelsTests/Fixtures/encoders")
    args = ap.parse_args()
    print(f"torch {torch.__version__} transformers {transformers.__version__} safetensors {safetensors.__version__}"
          f" numpy {np.__version__}")
    torch.manual_seed(0)
    for seed, (name, (cfg_cls, model_cls, extra)) in enumerate(CASES.items()):
        cfg = cfg_cls(**{**TINY, **extra})
        torch.manual_seed(100 + seed)
        model = model_cls(cfg).eval()
        randomize(model, 1000 + seed)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        # base layouts ship return_attention_mask False (group norm), large ones True; both normalise.
        fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                      return_attention_mask=cfg.feat_extract_norm == "layer")
        fe.save_pretrained(folder)
        result = {}
        clips1 = waveforms(seed, [1200])
        clips2 = waveforms(seed + 50, [1200, 830])
        with torch.enable_grad():
            nh = run(model, fe, clips1, "single", result)
            run(model, fe, clips2, "batch", result)
        save_file({k: v.detach().clone().contiguous() for k, v in result.items()}, os.path.join(folder, "expected.safetensors"),
                  metadata={"hidden_states": str(nh), "transformers": transformers.__version__})
        keys = sorted(k for k in model.state_dict().keys() if "pos_conv" in k)
        print(name, "hidden states:", nh, "pos conv keys:", keys)
    # pytorch_model.bin of the wav2vec2-base case (torch.save zip of a pickled state dict), one in f16 as well.
    base = os.path.join(args.out, "wav2vec2-base")
    from safetensors.torch import load_file
    state = load_file(os.path.join(base, "model.safetensors"))
    for sub, conv in (("wav2vec2-base-bin", lambda t: t), ("wav2vec2-base-bin-f16", lambda t: t.half())):
        folder = os.path.join(args.out, sub)
        os.makedirs(folder, exist_ok=True)
        for f in ("config.json", "preprocessor_config.json"):
            with open(os.path.join(base, f)) as src, open(os.path.join(folder, f), "w") as dst:
                dst.write(src.read())
        torch.save({k: conv(v) for k, v in state.items()}, os.path.join(folder, "pytorch_model.bin"))
    # dtype conversion fixture: what torch's exact conversion to f32 gives for f16/bf16 values.
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, generator=g) * 3
    x[0, 0] = 0.0
    x[0, 1] = -0.0
    x[0, 2] = 65504.0
    x[0, 3] = 1e-6  # f16 subnormal
    x[0, 4] = -2.5e-8  # rounds into f16 subnormal range / zero
    h, b = x.half(), x.bfloat16()
    save_file({"f16": h, "bf16": b, "f16_as_f32": h.float(), "bf16_as_f32": b.float(), "f32": x},
              os.path.join(args.out, "dtypes.safetensors"), metadata={"about": "dtype conversion fixture"})
    print("done")


if __name__ == "__main__":
    main()
