#!/usr/bin/env python3
"""Peer side of `emo bench encoders`: base-size random-weight wav2vec2 / HuBERT / WavLM checkpoints, timed in PyTorch.

Usage: python bench_encoders.py --cache DIR [--models wav2vec2-base,hubert-base,wavlm-base-plus] [--repeat 3]

For each model it writes (once; reused on later runs) DIR/<model>/{config.json, model.safetensors,
preprocessor_config.json} with the published base architectures and seeded random weights, and
DIR/inputs.safetensors with the clips (`3s` [1, 48000], `8s` [1, 128000], `batch` [2, 128000] zero-padded
8 s + 5.5 s, `batch_lengths`). Then it times `model(input_values)` with torch.inference_mode() and 2 threads
(best of --repeat runs after one warm-up; the median is reported too), saves every last_hidden_state to DIR/<model>/pytorch_outputs.safetensors
(plus `3s_grad`, d(linspace(-1, 1, C) · mean-pooled last_hidden_state)/d input, timed forward + backward as
pytorch_backward_ms on the 3 s row) and prints one JSON object on its last line:
  {"torch": ..., "transformers": ..., "threads": 2,
   "rows": [{"model", "clip", "pytorch_ms", "pytorch_cpu_ms", "pytorch_peak_mb"}]}
(pytorch_cpu_ms: process CPU time of the run, all threads: a fairer comparison on a loaded machine)
or {"missing": "why"} when torch/transformers are not importable. Peak memory is the process's peak RSS while
loading and running that model (VmHWM after resetting it through /proc/self/clear_refs).
"""
import argparse
import json
import os
import sys
import time


def peak_reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--models", default="wav2vec2-base,hubert-base,wavlm-base-plus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    try:
        import numpy as np
        import torch
        import transformers
        from safetensors.torch import load_file, save_file
        from transformers import (HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor,
                                  Wav2Vec2Model, WavLMConfig, WavLMModel)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"missing": f"cannot import torch/transformers in {sys.executable}: {e}"}))
        return
    print(f"bench_encoders.py: torch {torch.__version__} transformers {transformers.__version__}", file=sys.stderr)
    torch.set_num_threads(args.threads)
    os.makedirs(args.cache, exist_ok=True)
    zoo = {
        "wav2vec2-base": (Wav2Vec2Config, Wav2Vec2Model, {}),
        "hubert-base": (HubertConfig, HubertModel, {}),
        "wavlm-base-plus": (WavLMConfig, WavLMModel, {}),
    }
    # Inputs: speech-like harmonics with vibrato plus noise, fixed seed.
    inputs_path = os.path.join(args.cache, "inputs.safetensors")
    if not os.path.exists(inputs_path):
        rng = np.random.default_rng(2025)

        def clip(n):
            t = np.arange(n) / 16000.0
            x = sum((0.3 / k) * np.sin(2 * np.pi * k * 140 * t + 3 * np.sin(2 * np.pi * 4 * t)) for k in range(1, 6))
            return (0.3 * x + 0.05 * rng.standard_normal(n)).astype(np.float32)

        fe = Wav2Vec2FeatureExtractor(do_normalize=True)
        a, b, c = clip(48000), clip(128000), clip(88000)
        batch = fe([b, c], sampling_rate=16000, padding=True, return_attention_mask=True, return_tensors="pt")
        save_file({"3s": fe(a, sampling_rate=16000, return_tensors="pt")["input_values"].contiguous(),
                   "8s": fe(b, sampling_rate=16000, return_tensors="pt")["input_values"].contiguous(),
                   "batch": batch["input_values"].contiguous(),
                   "batch_lengths": batch["attention_mask"].sum(-1).float().contiguous()}, inputs_path)
    inputs = load_file(inputs_path)
    rows = []
    for seed, name in enumerate(args.models.split(",")):
        if name not in zoo:
            print(json.dumps({"missing": f"unknown model {name}; known: {', '.join(zoo)}"}))
            return
        cfg_cls, model_cls, extra = zoo[name]
        folder = os.path.join(args.cache, name)
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            torch.manual_seed(seed)
            cfg = cfg_cls(**extra)
            model = model_cls(cfg).eval()
            model.save_pretrained(folder, safe_serialization=True)
            Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)
            del model
        peak_reset()
        model = model_cls.from_pretrained(folder).eval()
        outputs = {}
        with torch.inference_mode():
            for clip in ("3s", "8s", "batch"):
                x = inputs[clip]
                mask = None
                if clip == "batch":
                    lengths = inputs["batch_lengths"].long()
                    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).long()
                model(x, attention_mask=mask)  # warm-up
                times, cpu = [], []
                for _ in range(args.repeat):
                    t0, c0 = time.perf_counter(), time.process_time()
                    out = model(x, attention_mask=mask)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                outputs[clip] = out.last_hidden_state.contiguous().clone()
                rows.append({"model": name, "clip": clip, "pytorch_ms": min(times) * 1000,
                             "pytorch_median_ms": sorted(times)[len(times) // 2] * 1000,
                             "pytorch_cpu_ms": min(cpu) * 1000})
        peak = peak_mb()
        # Backward to the input on the 3 s clip: forward + autograd backward of a fixed non-uniform projection
        # (linspace(-1, 1, C)) of the mean-pooled last_hidden_state (a plain sum is ~0 after a final LayerNorm with
        # unit gain), what the explainers' gradients need; best of --repeat.
        for p in model.parameters():
            p.requires_grad_(False)  # input gradient only, as EmoKit computes (weights frozen)
        x = inputs["3s"].clone().requires_grad_(True)
        times = []
        for i in range(args.repeat + 1):
            x.grad = None
            t0 = time.perf_counter()
            pooled = model(x).last_hidden_state.mean(1)  # [1, C]
            (pooled * torch.linspace(-1, 1, pooled.shape[-1])).sum().backward()
            if i > 0:
                times.append(time.perf_counter() - t0)
        outputs["3s_grad"] = x.grad.detach().clone().contiguous()
        for r in rows:
            if r["model"] == name and r["clip"] == "3s":
                r["pytorch_backward_ms"] = min(times) * 1000
                r["pytorch_backward_peak_mb"] = peak_mb()
        for r in rows:
            if r["model"] == name:
                r["pytorch_peak_mb"] = peak
        save_file(outputs, os.path.join(folder, "pytorch_outputs.safetensors"))
        print(f"bench_encoders.py: {name} done", file=sys.stderr)
        del model
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                      "threads": torch.get_num_threads(), "cache": args.cache, "rows": rows}))


if __name__ == "__main__":
    main()
