#!/usr/bin/env python3
"""Captum reference fixtures for Tests/ExplainersTests (run by a developer, never at product run time).

Builds two tiny fixed-seed PyTorch models, runs Captum's IntegratedGradients, Occlusion and FeatureAblation on them,
and writes weights, inputs, baselines, Captum's alphas/step sizes and every attribution/delta to
Tests/ExplainersTests/Fixtures/captum_reference.json. The Swift tests re-implement both models by hand
(forward + backward) as `ExplainableModel`s and compare.

Models (dimension legend: B batch, F features, T samples, C channels, K classes):
  mlp:  x [B, 60] -> Linear(60, 32) -> ReLU -> Linear(32, 7) -> scores [B, 7], trained (fixed seed) on 60
        standardised librosa features of real TESS clips (../shared/data/tess, 7 emotions); the explained
        inputs are 4 held-out clips' features
  conv: x [B, 400] -> view [B, 1, 400] -> Conv1d(1, 8, kernel 10, stride 5) -> tanh -> mean over frames
        -> Linear(8, 5) -> scores [B, 5]

Usage: /work/refenv/bin/python Tests/Reference/captum_reference.py            (writes the fixture)
       /work/refenv/bin/python Tests/Reference/captum_reference.py bench [--seconds 3] [--steps 50]
           [--window 1600] [--stride 800] [--batch 8] [--threads 0]
The bench mode is the peer side of the explainer benchmark (read by Sources/emo/Bench/ReferencePeer.swift): a
random-weight wav2vec2-base (transformers' default Wav2Vec2Config) + mean pool + MLP head (768 -> 256 -> 7) on a
3 s waveform, Captum IG (zero baseline, gausslegendre, 50 steps, internal_batch_size --batch) and Occlusion
(window/stride in samples, --batch perturbations per eval); prints one JSON line with seconds and peak RSS.
"""
import glob
import json
import os
import sys

import captum
import numpy as np
import librosa
import soundfile
import torch
from captum.attr import FeatureAblation, IntegratedGradients, Occlusion
from captum.attr._utils.approximation_methods import approximation_parameters

METHODS = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ExplainersTests", "Fixtures",
                   "captum_reference.json")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "tess")
EMOTIONS = ["angry", "disgust", "fear", "happy", "neutral", "pleasant_surprise", "sad"]
CLIPS_PER_CLASS = 60  # per speaker folder: 2 speakers x 7 emotions x 60 = 840 clips


def feature_names():
    return ([f"MFCC {i} mean" for i in range(40)] + [f"chroma {i} mean" for i in range(12)]
            + ["RMS mean", "RMS std", "ZCR mean", "ZCR std", "spectral centroid mean", "spectral centroid std",
               "spectral rolloff mean", "spectral bandwidth mean"])


def handcrafted(path):
    """60 features of one 16 kHz clip (librosa defaults: n_fft 2048, hop 512)."""
    y, sr = soundfile.read(path, dtype="float32")
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40).mean(axis=1)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr).mean(axis=1)
    rms = librosa.feature.rms(y=y)[0]
    zcr = librosa.feature.zero_crossing_rate(y)[0]
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr)[0]
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sr)[0]
    bandwidth = librosa.feature.spectral_bandwidth(y=y, sr=sr)[0]
    return np.concatenate([mfcc, chroma, [rms.mean(), rms.std(), zcr.mean(), zcr.std(), centroid.mean(),
                                          centroid.std(), rolloff.mean(), bandwidth.mean()]]).astype(np.float32)


def train_mlp_on_tess():
    """Features of real TESS clips, a stratified 80/20 split (seeded), standardisation fit on train only, and an
    MLP trained with Adam; returns the model, 4 held-out standardised rows, their labels and the protocol."""
    rng = np.random.default_rng(7)
    rows, labels, files = [], [], []
    for label, emotion in enumerate(EMOTIONS):
        for speaker in ("OAF", "YAF"):
            paths = sorted(glob.glob(os.path.join(DATA, f"{speaker}_{emotion}", "*.flac")))
            if not paths:
                sys.exit(f"no TESS clips under {DATA}/{speaker}_{emotion}: this script needs ../shared/data")
            for p in sorted(rng.choice(paths, CLIPS_PER_CLASS, replace=False)):
                rows.append(handcrafted(p))
                labels.append(label)
                files.append(os.path.relpath(p, DATA))
    x = np.stack(rows)
    y = np.array(labels)
    test = np.zeros(len(y), dtype=bool)
    for label in range(len(EMOTIONS)):  # stratified 20 % test
        idx = np.flatnonzero(y == label)
        test[rng.choice(idx, len(idx) // 5, replace=False)] = True
    mean, std = x[~test].mean(axis=0), x[~test].std(axis=0) + 1e-6
    xs = torch.tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y)
    mlp = MLP()
    opt = torch.optim.Adam(mlp.parameters(), lr=3e-3, weight_decay=1e-4)
    train_idx = torch.tensor(np.flatnonzero(~test))
    for _ in range(400):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(mlp(xs[train_idx]), yt[train_idx])
        loss.backward()
        opt.step()
    mlp.eval()
    with torch.no_grad():
        test_idx = np.flatnonzero(test)
        accuracy = float((mlp(xs[test_idx]).argmax(1) == yt[test_idx]).float().mean())
    picks = [int(test_idx[i]) for i in (0, 40, 80, 120)]
    protocol = {"corpus": "TESS (OAF + YAF)", "clips": int(len(y)), "split": "random stratified 80/20, seed 7",
                "test_accuracy": accuracy, "explained_clips": [files[i] for i in picks]}
    print(f"trained MLP: {protocol}")
    return mlp, xs[picks].clone(), [int(y[i]) for i in picks], protocol


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(60, 32)
        self.fc2 = torch.nn.Linear(32, 7)

    def forward(self, x):  # x [B, 60] or [B, 6, 10]
        return self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))


class ConvToy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 8, kernel_size=10, stride=5)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):  # x [B, T]
        h = torch.tanh(self.conv(x.unsqueeze(1)))  # [B, 8, T']
        return self.fc(h.mean(dim=2))  # [B, 5]


def flat(t):
    """Float32 values as the shortest decimal that reads back to the same float32 (9 significant digits)."""
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


def baselines_for(x, generator):
    """zero, mean (each row's mean over all its elements, broadcast) and a user-given random baseline."""
    rows = x.reshape(x.shape[0], -1)
    mean = rows.mean(dim=1, keepdim=True).expand_as(rows).reshape(x.shape).contiguous()
    given = (0.3 * torch.randn(x.shape, generator=generator)).float()
    return {"zero": torch.zeros_like(x), "mean": mean, "given": given}


def ig_cases(model, x, targets, n_steps, generator):
    ig = IntegratedGradients(model)
    cases = []
    baselines = baselines_for(x, generator)
    for bname, base in baselines.items():
        for method in METHODS:
            attr, delta = ig.attribute(x, baselines=base, target=targets, n_steps=n_steps, method=method,
                                       return_convergence_delta=True)
            cases.append({"baseline": bname, "method": method,
                          "n_steps": n_steps, "attributions": tensor_json(attr), "delta": flat(delta)})
    return {"baselines": {k: tensor_json(v) for k, v in baselines.items()}, "cases": cases}


def occlusion_case(model, x, targets, window, stride, baseline, per_eval):
    occ = Occlusion(model)
    attr = occ.attribute(x, sliding_window_shapes=tuple(window), strides=tuple(stride), baselines=baseline,
                         target=targets, perturbations_per_eval=per_eval)
    case = {"input_shape": list(x.shape), "window": window, "stride": stride, "attributions": tensor_json(attr)}
    if isinstance(baseline, torch.Tensor):
        case.update({"baseline": 0.0, "baseline_values": tensor_json(baseline)})
    else:
        case["baseline"] = baseline
    return case


def main():
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(99)
    print(f"python {sys.version.split()[0]} torch {torch.__version__} captum {captum.__version__} "
          f"numpy {np.__version__}")

    rules = {}
    for method in METHODS:
        sizes_fn, alphas_fn = approximation_parameters(method)
        rules[method] = {str(n): {"step_sizes": sizes_fn(n), "alphas": alphas_fn(n)} for n in (2, 7, 32, 50)}

    # --- MLP over 60 "features" ---
    mlp, x_mlp, labels, protocol = train_mlp_on_tess()
    t_mlp = [labels[0], labels[1], 6, 2]  # two true labels, two other classes
    x_req = x_mlp.clone().requires_grad_()
    s = mlp(x_req)
    s.gather(1, torch.tensor(t_mlp).unsqueeze(1)).sum().backward()
    mlp_fix = {
        "weights": {"fc1.weight": tensor_json(mlp.fc1.weight), "fc1.bias": tensor_json(mlp.fc1.bias),
                    "fc2.weight": tensor_json(mlp.fc2.weight), "fc2.bias": tensor_json(mlp.fc2.bias)},
        "feature_names": feature_names(), "training": protocol,
        "input": tensor_json(x_mlp), "targets": t_mlp, "scores": tensor_json(s), "gradient": tensor_json(x_req.grad),
        "integrated_gradients": ig_cases(mlp, x_mlp, t_mlp, 50, gen),
        "occlusion": [
            occlusion_case(mlp, x_mlp, t_mlp, [3], [2], 0.0, 7),
            occlusion_case(mlp, x_mlp, t_mlp, [5], [5], 0.5, 1),
            occlusion_case(mlp, x_mlp.reshape(4, 6, 10), t_mlp, [2, 3], [1, 2], 0.0, 4),
        ],
    }
    groups = [[0, 20], [20, 45], [45, 60]]
    mask = torch.zeros(1, 60, dtype=torch.long)
    for g, (a, b) in enumerate(groups):
        mask[0, a:b] = g
    ablation = FeatureAblation(mlp).attribute(x_mlp, baselines=0.0, target=t_mlp, feature_mask=mask)
    mlp_fix["feature_ablation"] = {"groups": groups, "baseline": 0.0, "attributions": tensor_json(ablation)}

    # --- 1-D conv "waveform" toy ---
    conv = ConvToy().eval()
    t = torch.arange(400, dtype=torch.float32) / 16000.0
    x_conv = torch.stack([0.6 * torch.sin(2 * np.pi * 220 * t) + 0.1 * torch.randn(400, generator=gen),
                          0.4 * torch.sin(2 * np.pi * 440 * t + 0.3) + 0.2 * torch.randn(400, generator=gen)])
    t_conv = [1, 4]
    xc_req = x_conv.clone().requires_grad_()
    sc = conv(xc_req)
    sc.gather(1, torch.tensor(t_conv).unsqueeze(1)).sum().backward()
    conv_fix = {
        "weights": {"conv.weight": tensor_json(conv.conv.weight), "conv.bias": tensor_json(conv.conv.bias),
                    "fc.weight": tensor_json(conv.fc.weight), "fc.bias": tensor_json(conv.fc.bias)},
        "input": tensor_json(x_conv), "targets": t_conv, "scores": tensor_json(sc),
        "gradient": tensor_json(xc_req.grad),
        "integrated_gradients": ig_cases(conv, x_conv, t_conv, 32, gen),
        "occlusion": [
            occlusion_case(conv, x_conv, t_conv, [50], [25], 0.0, 16),
            occlusion_case(conv, x_conv, t_conv, [60], [45], 0.1, 3),
            occlusion_case(conv, x_conv, t_conv, [40], [40], 0.05 * torch.randn(x_conv.shape, generator=gen), 5),
        ],
    }

    out = {"versions": {"torch": torch.__version__, "captum": captum.__version__, "numpy": np.__version__},
           "rules": rules, "mlp": mlp_fix, "conv": conv_fix}
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    print(json.dumps({"fixture": os.path.basename(OUT), "captum": captum.__version__}))


def bench(argv):
    import argparse
    from reference_common import rss_mb
    import time

    import transformers
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    ap = argparse.ArgumentParser(prog="captum_reference.py bench")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--window", type=int, default=1600)
    ap.add_argument("--stride", type=int, default=800)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--repeats", type=int, default=1, help="time each method this many times in this process")
    ap.add_argument("--save", default="", help="folder for the chain (HF checkpoint, head), the clip and the "
                                               "attributions, so EmoKit runs the same function and compares")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class Chain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Wav2Vec2Model(Wav2Vec2Config())  # wav2vec2-base shape, random weights
            self.head = torch.nn.Sequential(torch.nn.Linear(768, 256), torch.nn.ReLU(), torch.nn.Linear(256, 7))

        def forward(self, wave):  # wave [B, T]
            # The checkpoint's do_normalize (Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm: population variance
            # + 1e-7), inside the chain so IG differentiates through it, as EmoKit's encoder plugin does.
            mean = wave.mean(dim=1, keepdim=True)
            var = wave.var(dim=1, unbiased=False, keepdim=True)
            wave = (wave - mean) / torch.sqrt(var + 1e-7)
            return self.head(self.encoder(wave).last_hidden_state.mean(dim=1))  # [B, 7]

    chain = Chain().eval()
    n = int(args.seconds * 16000)
    t = torch.arange(n, dtype=torch.float32) / 16000
    wave = (0.3 * torch.sin(2 * np.pi * 220 * t) + 0.05 * torch.randn(n)).unsqueeze(0)  # [1, T]
    with torch.no_grad():
        target = int(chain(wave).argmax(1))
    if args.save:
        from transformers import Wav2Vec2FeatureExtractor
        enc_dir = os.path.join(args.save, "wav2vec2-base")
        chain.encoder.save_pretrained(enc_dir, safe_serialization=True)
        Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(enc_dir)
        lin1, lin2 = chain.head[0], chain.head[2]
        for name, t in [("head_w1", lin1.weight), ("head_b1", lin1.bias), ("head_w2", lin2.weight),
                        ("head_b2", lin2.bias), ("wave", wave[0])]:
            t.detach().numpy().astype("<f4").tofile(os.path.join(args.save, name + ".f32"))
    ig_runs, ig_cpu_runs, occ_runs, occ_cpu_runs = [], [], [], []
    for _ in range(max(1, args.repeats)):
        t0, c0 = time.perf_counter(), time.process_time()
        ig_attr, delta = IntegratedGradients(chain).attribute(wave, target=target, n_steps=args.steps, method="gausslegendre",
                                                        internal_batch_size=args.batch, return_convergence_delta=True)
        ig_runs.append(time.perf_counter() - t0)
        ig_cpu_runs.append(time.process_time() - c0)
    for _ in range(max(1, args.repeats)):
        t0, c0 = time.perf_counter(), time.process_time()
        occ_attr = Occlusion(chain).attribute(wave, sliding_window_shapes=(args.window,), strides=(args.stride,), baselines=0.0,
                                   target=target, perturbations_per_eval=args.batch)
        occ_runs.append(time.perf_counter() - t0)
        occ_cpu_runs.append(time.process_time() - c0)
    median = lambda v: float(np.median(v))
    ig_s, ig_cpu, occ_s, occ_cpu = median(ig_runs), median(ig_cpu_runs), median(occ_runs), median(occ_cpu_runs)
    peak_mb = rss_mb("VmHWM")  # not ru_maxrss: it survives exec and can report the EmoKit parent's peak
    if args.save:
        ig_attr[0].detach().numpy().astype("<f4").tofile(os.path.join(args.save, "ig_attr.f32"))
        occ_attr[0].detach().numpy().astype("<f4").tofile(os.path.join(args.save, "occlusion_attr.f32"))
    print(json.dumps({"peer": f"captum {captum.__version__} + transformers {transformers.__version__} "
                              f"(torch {torch.__version__}, {torch.get_num_threads()} threads)",
                      "seconds_audio": args.seconds, "ig_steps": args.steps, "ig_seconds": ig_s,
                      "ig_delta": float(delta.abs().max()), "occlusion_window": args.window,
                      "occlusion_stride": args.stride, "occlusion_seconds": occ_s, "peak_rss_mb": peak_mb,
                      "ig_cpu_seconds": ig_cpu, "occlusion_cpu_seconds": occ_cpu, "ig_runs": ig_runs,
                      "occlusion_runs": occ_runs, "target": target, "saved": args.save,
                      "ig_delta_signed": float(delta.reshape(-1)[0])}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        try:
            bench(sys.argv[2:])
        except ImportError as e:  # no transformers: no peer column
            print(json.dumps({"missing": f"reference bench needs transformers: {e}"}))
    else:
        main()
