#!/usr/bin/env python3
"""The peer pipeline for `emo run SPEC --peer`: librosa + Praat features and a PyTorch classifier of the same
shapes, trained on exactly the splits, seeds and settings EmoKit used.

Usage
  peer_pipeline.py run PROTOCOL.json [--features peer|emokit]
      Reads the protocol EmoKit exported (clips, labels, every seed x fold's train/validation/test indices,
      scaling, model, optimiser settings), computes (or reuses cached) peer features for every clip, trains one
      PyTorch model per seed x fold and prints one JSON object on its last stdout line:
      {"peer": ..., "versions": {...}, "runs": [{"seed", "fold", "accuracy", "macro_f1", ...}], ...}
      `--features emokit` trains the peer's model on EmoKit's own feature matrix (exported in the protocol), which
      separates feature differences from training differences; `--features emokit-praat-voice` swaps only the 7
      voice-quality columns (formants, HNR, jitter, shimmer, speech rate) for the peer's Praat values.
  peer_pipeline.py extract LIST.txt
      Computes and caches peer features for the audio files listed one per line (to warm the cache).
  peer_pipeline.py extract-praat LIST.txt
      Caches only the 7 Praat values (what `--features emokit-praat-voice` needs).
  peer_pipeline.py compare PROTOCOL.json
      Per feature, how EmoKit's values (in the protocol) agree with the peer's cached ones.

Features (65 per clip, in EmoKit's `study-a` order, see Plugins/Handcrafted/README.md):
  librosa 0.11 on the samples as read by soundfile (float32, the dtype `librosa.load` gives):
    40 MFCC means (n_mels 128, n_fft 2048, hop 512), 12 chroma_stft means, spectral centroid mean,
    roll-off (85 %) mean, zero-crossing-rate mean, pYIN (C2..C7, frame 2048, hop 512) f0 mean and std (Hz,
    voiced frames, ddof 0) and voiced fraction;
  Praat 6 through praat-parselmouth, with Praat's own standard settings (not EmoKit's pYIN voicing):
    F1-F3 means (Burg, 5 formants up to 5500 Hz, 25 ms window, 10 ms step) over frames Praat's pitch
    (75-600 Hz) calls voiced; HNR mean (Harmonicity (ac), 10 ms, 75 Hz, 0.1, 4.5 periods; Praat's "Get mean");
    jitter (local) and shimmer (local) from "To PointProcess (periodic, cc)" 75-600 Hz with Praat's defaults
    (0.0001, 0.02, 1.3, 1.6); speech rate: de Jong & Wempe (2009) syllable nuclei on Praat's intensity
    (minimum pitch 50 Hz): peaks above the 0.99 quantile - 25 dB, >= 2 dB above the preceding dip, voiced
    per Praat's pitch, divided by the clip duration.
  Undefined values (an unvoiced clip) are NaN and are replaced by training-part means before scaling, as in EmoKit.

Features are cached under $EMO_PEER_CACHE (default ~/.cache/emokit/peer/) keyed by the file's real path, size and
mtime and FEATURE_VERSION, one .npy per clip, because pYIN over the 4240 RAVDESS+TESS clips takes a long time.
"""
import hashlib
import json
import os
import sys
import time

FEATURE_VERSION = "study-a-peer-1"


def cache_dir():
    root = os.environ.get("EMO_PEER_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "emokit", "peer")
    d = os.path.join(root, FEATURE_VERSION)
    os.makedirs(d, exist_ok=True)
    return d


def cache_path(path):
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real}|{st.st_size}|{st.st_mtime_ns}|{FEATURE_VERSION}"
    return os.path.join(cache_dir(), hashlib.sha1(key.encode()).hexdigest() + ".npy")


def read_audio(path, sr=16000):
    import numpy as np
    import soundfile as sf
    y, file_sr = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1).astype(np.float32)
    if file_sr != sr:
        import librosa
        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    return y, sr


def librosa_features(y, sr):
    """58 values: 40 MFCC, 12 chroma, centroid, rolloff, ZCR means; f0 mean, std, voiced fraction."""
    import numpy as np
    import librosa
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40, n_fft=2048, hop_length=512, n_mels=128)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=2048, hop_length=512)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr, n_fft=2048, hop_length=512)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sr, n_fft=2048, hop_length=512, roll_percent=0.85)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    f0, voiced, _ = librosa.pyin(y, fmin=librosa.note_to_hz("C2"), fmax=librosa.note_to_hz("C7"), sr=sr,
                                 frame_length=2048, hop_length=512)
    vf = f0[np.isfinite(f0)]
    f0_mean = float(vf.mean()) if vf.size else float("nan")
    f0_std = float(vf.std()) if vf.size else float("nan")
    return np.concatenate([mfcc.mean(axis=1), chroma.mean(axis=1), [centroid.mean(), rolloff.mean(), zcr.mean(),
                                                                    f0_mean, f0_std, float(np.mean(voiced))]])


def praat_formant_means(snd, pitch):
    """F1-F3 means (Burg, 5 formants up to 5500 Hz, 25 ms window, 10 ms step) at the frames `pitch` calls voiced;
    NaN where no voiced frame has the formant."""
    import numpy as np
    pf = pitch.selected_array["frequency"]
    voiced_times = pitch.xs()[pf > 0]
    formant = snd.to_formant_burg(time_step=0.01, max_number_of_formants=5, maximum_formant=5500.0,
                                  window_length=0.025, pre_emphasis_from=50.0)
    fmeans = []
    for i in (1, 2, 3):
        vals = np.array([formant.get_value_at_time(i, t) for t in voiced_times], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        fmeans.append(float(vals.mean()) if vals.size else float("nan"))
    return fmeans


def praat_speech_rate(snd, pitch, duration):
    """de Jong & Wempe (2009), simplified: intensity peaks above threshold, 2 dB dips, voiced. Returns the
    intensity object and the rate (nuclei per second; NaN for an empty clip)."""
    import numpy as np
    inten = snd.to_intensity(minimum_pitch=50.0, time_step=0.01)
    iv = inten.values[0]
    it = inten.xs()
    nuclei = 0
    if iv.size >= 3:
        threshold = np.quantile(iv, 0.99) - 25.0
        dip = iv[0]
        for k in range(1, iv.size - 1):
            dip = min(dip, iv[k])
            if iv[k] > iv[k - 1] and iv[k] >= iv[k + 1] and iv[k] > threshold and iv[k] - dip >= 2.0:
                f = pitch.get_value_at_time(it[k])
                if np.isfinite(f) and f > 0:
                    nuclei += 1
                    dip = iv[k]
    return inten, (nuclei / duration if duration > 0 else float("nan"))


def praat_features(y, sr):
    """7 values: F1, F2, F3 means, HNR mean, jitter (local), shimmer (local), speech rate."""
    import numpy as np
    import parselmouth
    from parselmouth.praat import call
    nan = float("nan")
    snd = parselmouth.Sound(y.astype(np.float64), sampling_frequency=sr)
    duration = len(y) / sr
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
    voiced = (pitch.selected_array["frequency"] > 0).any()
    fmeans = praat_formant_means(snd, pitch)
    harm = snd.to_harmonicity_ac(time_step=0.01, minimum_pitch=75.0, silence_threshold=0.1, periods_per_window=4.5)
    hv = harm.values[0]
    hv = hv[hv != -200]
    hnr = float(hv.mean()) if hv.size else nan
    jitter = shimmer = nan
    if voiced:
        pp = call(snd, "To PointProcess (periodic, cc)", 75.0, 600.0)
        try:
            jitter = float(call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3))
            shimmer = float(call([snd, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6))
        except parselmouth.PraatError:
            pass
    _, rate = praat_speech_rate(snd, pitch, duration)
    return np.array(fmeans + [hnr, jitter, shimmer, rate], dtype=np.float64)


def clip_features(path):
    """The 65 peer features of one file, from the cache when present."""
    import numpy as np
    cp = cache_path(path)
    if os.path.exists(cp):
        return np.load(cp)
    y, sr = read_audio(path)
    lib = librosa_features(y, sr)
    pra = praat_features(y, sr)
    # EmoKit's order: mfcc(40), chroma(12), centroid, rolloff, zcr, f0 mean, f0 std, voiced fraction, F1-F3,
    # HNR, jitter, shimmer, speech rate.
    feats = np.concatenate([lib, pra]).astype(np.float64)
    tmp = cp + f".tmp{os.getpid()}.npy"
    np.save(tmp, feats)
    os.replace(tmp, cp)
    return feats


def praat_cache_path(path):
    """Cache of the 7 Praat values alone (for the emokit-praat-voice diagnostic)."""
    d = cache_dir() + "-praat"
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, os.path.basename(cache_path(path)))


def praat_only(path):
    """The 7 Praat values of one file: from the full cache, the Praat-only cache, or computed."""
    import numpy as np
    full = cache_path(path)
    if os.path.exists(full):
        return np.load(full)[58:65]
    cp = praat_cache_path(path)
    if os.path.exists(cp):
        return np.load(cp)
    y, sr = read_audio(path)
    feats = praat_features(y, sr)
    tmp = cp + f".tmp{os.getpid()}.npy"
    np.save(tmp, feats)
    os.replace(tmp, cp)
    return feats


def praat_for(paths, log=sys.stderr):
    import numpy as np
    out = np.zeros((len(paths), 7), dtype=np.float64)
    start = time.time()
    for i, p in enumerate(paths):
        out[i] = praat_only(p)
        if (i + 1) % 200 == 0 or i + 1 == len(paths):
            print(f"peer Praat features: {i + 1}/{len(paths)} clips ({time.time() - start:.1f} s wall, "
                  f"{time.process_time():.1f} s CPU)", file=log, flush=True)
    return out


def features_for(paths, log=sys.stderr):
    import numpy as np
    out = np.zeros((len(paths), 65), dtype=np.float64)
    start = time.time()
    computed = 0
    for i, p in enumerate(paths):
        was_cached = os.path.exists(cache_path(p))
        out[i] = clip_features(p)
        if not was_cached:
            computed += 1
        if (i + 1) % 100 == 0 or i + 1 == len(paths):
            el = time.time() - start
            print(f"peer features: {i + 1}/{len(paths)} clips ({computed} computed, {el:.1f} s wall, "
                  f"{time.process_time():.1f} s CPU)", file=log, flush=True)
    return out, computed, time.time() - start


def main_extract(list_path):
    with open(list_path) as f:
        paths = [line.strip() for line in f if line.strip()]
    t0, c0 = time.time(), time.process_time()
    _, computed, _ = features_for(paths)
    print(json.dumps({"clips": len(paths), "computed": computed, "wall_s": time.time() - t0,
                      "cpu_s": time.process_time() - c0}))



# ----------------------------------------------------------------------------------------------------------------
# Training: the protocol's model, scaling and optimiser in PyTorch, on the protocol's indices.

class PeerUnavailable(Exception):
    """Raised when the protocol asks for something this peer does not implement (reported as {"missing": ...})."""


def impute(x, train):
    """NaN/inf -> training-part column means (over finite values; 0 if none); returns the copy and the count."""
    import numpy as np
    x = np.array(x, dtype=np.float64, copy=True)
    bad = ~np.isfinite(x)
    tr = x[train]
    means = np.array([tr[np.isfinite(tr[:, j]), j].mean() if np.isfinite(tr[:, j]).any() else 0.0
                      for j in range(x.shape[1])])
    x[bad] = np.take(means, np.nonzero(bad)[1])
    return x, int(bad.sum())


def impute_and_scale(x, train, method):
    """`impute`, then the scaler fit on `train` rows."""
    x, imputed = impute(x, train)
    if method == "none":
        return x, imputed
    shift, scale = affine(x[train], method)
    return (x - shift) / scale, imputed


def affine(rows, method):
    """(shift, scale) of `method` over `rows` [n, C] (a scale below 10 eps becomes 1, as scikit-learn does)."""
    import numpy as np
    if method == "standard":
        shift, scale = rows.mean(axis=0), rows.std(axis=0)
    elif method == "min-max":
        shift, scale = rows.min(axis=0), rows.max(axis=0) - rows.min(axis=0)
    elif method == "robust":
        q1, q2, q3 = np.quantile(rows, [0.25, 0.5, 0.75], axis=0)
        shift, scale = q2, q3 - q1
    else:
        raise PeerUnavailable(f"scaling method '{method}' is not implemented by the peer")
    return shift, np.where(scale < 10 * np.finfo(np.float64).eps, 1.0, scale)


def per_speaker_scale(x, fold, speakers, method, unseen):
    """EmoKit's per-speaker scaling (docs/evaluation.md, scaling): NaN/inf -> training-part column means; a speaker with
    training rows is scaled with the statistics of its training rows; an unseen one with the global training statistics
    (`global-train`) or those of its own rows within the part being scaled (`own-features`: train, validation and test
    are scaled apart, as EmoKit's runner does). Returns the scaled matrix (every part's rows) and the imputed count."""
    import numpy as np
    if method == "none":
        raise PeerUnavailable("per-speaker scaling with method 'none' is not implemented by the peer")
    train = np.array(fold["train"], dtype=np.int64)
    x, imputed = impute(x, train)
    global_map = affine(x[train], method)
    seen = {}
    for s in sorted(set(speakers[i] for i in train)):
        seen[s] = affine(x[[i for i in train if speakers[i] == s]], method)
    out = np.array(x, copy=True)
    for part in (fold["train"], fold.get("validation", []), fold["test"]):
        by_speaker = {}
        for i in part:
            by_speaker.setdefault(speakers[i], []).append(i)
        for s, rows in by_speaker.items():
            if s in seen:
                shift, scale = seen[s]
            elif unseen == "own-features":
                shift, scale = affine(x[rows], method)
            else:
                shift, scale = global_map
            out[rows] = (x[rows] - shift) / scale
    return out, imputed


def as_list(v, n, default=0.0):
    if v is None:
        return [default] * n
    if isinstance(v, (int, float)):
        return [float(v)] * n
    return [float(a) for a in v]


def mlp_layers(torch, d_in, hidden, batch_norm, bn_after, dropout, l2):
    """Linear -> [BN] -> ReLU -> [Dropout] per hidden width (or Linear -> ReLU -> BN with bn_after); returns
    (modules, [(linear, l2)])."""
    mods, decays = [], []
    w = d_in
    for i, h in enumerate(hidden):
        lin = torch.nn.Linear(w, h)
        mods.append(lin)
        decays.append((lin, l2[i] if i < len(l2) else 0.0))
        if batch_norm and not bn_after:
            mods.append(torch.nn.BatchNorm1d(h))
        mods.append(torch.nn.ReLU())
        if batch_norm and bn_after:
            mods.append(torch.nn.BatchNorm1d(h))
        if dropout[i] > 0:
            mods.append(torch.nn.Dropout(dropout[i]))
        w = h
    return mods, decays, w


def build_model(torch, protocol, widths):
    """The protocol's fusion + classifier as a torch module taking the group blocks of one [B, sum C_g] tensor."""
    fusion, classifier = protocol["fusion"], protocol["classifier"]
    fc, cc = fusion.get("config") or {}, classifier.get("config") or {}
    k = len(protocol["classes"])
    decays = []

    if fusion["component"] == "early":
        d = sum(widths)
        pre = None
    elif fusion["component"] == "late":
        hidden = [int(h) for h in fc.get("branch", [512, 256, 128])]
        drop = as_list(fc.get("dropout", 0.0), len(hidden))
        l2 = as_list(fc.get("l2", 0.0), len(hidden))
        bn_after = fc.get("batch_norm_position", "before-activation") == "after-activation"
        branches = []
        for w in widths:
            mods, dec, out = mlp_layers(torch, w, hidden, bool(fc.get("batch_norm", False)), bn_after, drop, l2)
            branches.append(torch.nn.Sequential(*mods))
            decays += dec
        d = out * len(widths)
        fh = int(fc.get("fusion_hidden", 0) or 0)
        fusion_layer = None
        if fh > 0:
            mods, dec, d = mlp_layers(torch, d, [fh], False, False, [float(fc.get("fusion_dropout", 0.0))],
                                      [float(fc.get("l2", 0.0))])
            fusion_layer = torch.nn.Sequential(*mods)
            decays += dec
        pre = (torch.nn.ModuleList(branches), fusion_layer)
    else:
        raise PeerUnavailable(f"fusion '{fusion['component']}' is not implemented by the peer (early, late are)")

    if classifier["component"] == "mlp":
        hidden = [int(h) for h in cc.get("hidden", [])]
        drop = as_list(cc.get("dropout", 0.0), len(hidden))
        l2 = as_list(cc.get("l2", 0.0), len(hidden) + 1)
        bn_after = cc.get("batch_norm_position", "before-activation") == "after-activation"
        mods, dec, w = mlp_layers(torch, d, hidden, bool(cc.get("batch_norm", False)), bn_after, drop, l2)
        out = torch.nn.Linear(w, k)
        decays += dec + [(out, l2[len(hidden)] if len(hidden) < len(l2) else 0.0)]
        head = torch.nn.Sequential(*(mods + [out]))
    elif classifier["component"] == "logistic":
        out = torch.nn.Linear(d, k)
        decays.append((out, float(cc.get("l2", 0.0))))
        head = out
    else:
        raise PeerUnavailable(f"classifier '{classifier['component']}' is not implemented by the peer (mlp, logistic are)")

    offsets = [sum(widths[:g]) for g in range(len(widths))]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = None
            if pre is not None:
                self.branches, self.fusion_layer = pre
                self.pre = True
            self.head = head

        def forward(self, x):  # [B, sum C_g] -> [B, K]
            if self.pre:
                parts = [b(x[:, o:o + w]) for b, o, w in zip(self.branches, offsets, widths)]
                x = torch.cat(parts, dim=1)
                if self.fusion_layer is not None:
                    x = self.fusion_layer(x)
            return self.head(x)

    return Net(), decays


def train_fold(torch, protocol, x, labels, fold):
    """Trains one model on `fold`'s train rows (validation rows for early stopping and LR plateau); returns the
    test predictions, probabilities and the per-epoch history."""
    import numpy as np
    t = protocol["training"]
    seed = int(fold["seed"])
    torch.manual_seed(seed)
    widths = [g["width"] for g in protocol["groups"]]
    model, decays = build_model(torch, protocol, widths)
    if t.get("optimizer", "adam") not in ("adam", "adamw"):
        raise PeerUnavailable(f"optimizer '{t.get('optimizer')}' is not implemented by the peer (adam, adamw are)")
    # Coupled L2 exactly as EmoKit's trainer: gradient += (component l2 + 2 * training.l2 on matrices) * w.
    trainer_l2 = float(t.get("l2", 0.0) or 0.0)
    wd = float(t.get("weightDecay", 0.0) or 0.0)
    adamw = t.get("optimizer") == "adamw"
    decay_of = {}
    for lin, c in decays:
        decay_of[id(lin.weight)] = c
    groups = {}
    for p in model.parameters():
        c = decay_of.get(id(p), 0.0) + (2 * trainer_l2 if p.dim() >= 2 else 0.0) + (0.0 if adamw else wd)
        groups.setdefault(c, []).append(p)
    betas = tuple(t.get("betas") or (0.9, 0.999))
    lr = float(t.get("learningRate", 1e-3))
    eps = float(t.get("epsilon", 1e-8))
    if adamw:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=wd)
        coupled = [(c, ps) for c, ps in groups.items() if c > 0]
    else:
        opt = torch.optim.Adam([{"params": ps, "weight_decay": c} for c, ps in groups.items()],
                               lr=lr, betas=betas, eps=eps)
        coupled = []
    plateau = t.get("lrPlateau")
    sched = None
    if plateau:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=float(plateau.get("factor", 0.1)),
                                                           patience=int(plateau.get("patience", 10)), threshold=1e-4,
                                                           threshold_mode="rel", min_lr=float(plateau.get("minLearningRate", 0.0)))
        if plateau.get("monitor", "val-loss") != "val-loss":
            raise PeerUnavailable("the peer's LR plateau watches val-loss only")
    for unsupported in ("warmup", "gradientClipNorm"):
        if t.get(unsupported):
            raise PeerUnavailable(f"training.{unsupported} is not implemented by the peer")
    es = t.get("earlyStopping")
    if es and es.get("monitor", "val-loss") != "val-loss":
        raise PeerUnavailable("the peer's early stopping watches val-loss only")
    k = len(protocol["classes"])
    tr, va, te = (np.array(fold[n], dtype=np.int64) for n in ("train", "validation", "test"))
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(labels, dtype=torch.int64)
    cw = t.get("classWeights", "none")
    weight = None
    if cw == "balanced":
        counts = np.bincount(labels[tr], minlength=k)
        weight = torch.tensor([0.0 if c == 0 else len(tr) / (k * c) for c in counts], dtype=torch.float32)
    elif isinstance(cw, (list, dict)) or cw not in ("none", None):
        raise PeerUnavailable(f"class weights {cw!r} are not implemented by the peer (none, balanced are)")
    lossf = torch.nn.CrossEntropyLoss(weight=weight)
    bs = int(t.get("batchSize", 32))
    n = len(tr)
    gen = torch.Generator().manual_seed(seed)
    history, best, best_state, best_epoch, waited = [], None, None, 0, 0
    min_delta = float((es or {}).get("minDelta", 0.0) or 0.0)
    for epoch in range(1, int(t.get("maxEpochs", 100)) + 1):
        model.train()
        order = torch.randperm(n, generator=gen) if t.get("shuffle", True) else torch.arange(n)
        loss_sum, seen = 0.0, 0
        for b in range(0, n, bs):
            idx = tr[order[b:b + bs].numpy()]
            if len(idx) == 1 and n > 1:
                continue  # a last batch of one row (BatchNorm cannot take it)
            opt.zero_grad()
            loss = lossf(model(xt[idx]), yt[idx])
            loss.backward()
            for c, ps in coupled:
                for p in ps:
                    p.grad.add_(p.detach(), alpha=c)
            opt.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        model.eval()
        with torch.no_grad():
            vl = lossf(model(xt[va]), yt[va]).item() if len(va) else None
            va_acc = (model(xt[va]).argmax(1) == yt[va]).float().mean().item() if len(va) else None
        history.append({"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "val_loss": vl, "val_accuracy": va_acc,
                        "lr": opt.param_groups[0]["lr"]})
        if sched is not None and vl is not None:
            sched.step(vl)
        if es and vl is not None:
            if best is None or vl < best - min_delta:
                best, best_epoch, waited = vl, epoch, 0
                if es.get("restoreBestWeights", True):
                    best_state = {kk: v.detach().clone() for kk, v in model.state_dict().items()}
            else:
                waited += 1
                if waited >= int(es.get("patience", 10)):
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(xt[te]), dim=1).numpy()
    return probs, history, (best_epoch or len(history))


def main_run(args):
    import numpy as np
    t_start = time.time()
    try:
        import torch
        import librosa
        import sklearn
        from sklearn.metrics import accuracy_score, f1_score
    except ImportError as e:
        print(json.dumps({"missing": f"the peer needs torch, librosa and scikit-learn: {e}"}))
        return
    feature_source = "peer"
    if "--features" in args:
        feature_source = args[args.index("--features") + 1]
    with open(args[0]) as f:
        protocol = json.load(f)
    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch.__version__,
                "librosa": librosa.__version__, "scikit-learn": sklearn.__version__}
    try:
        import parselmouth
        versions["praat-parselmouth"] = parselmouth.__version__
        versions["praat"] = parselmouth.PRAAT_VERSION
    except ImportError as e:
        if feature_source == "peer":
            print(json.dumps({"missing": f"the peer's voice-quality features need praat-parselmouth: {e}"}))
            return
    torch.set_num_threads(int(os.environ.get("EMO_PEER_THREADS", "1")))
    print(f"peer: {' '.join(f'{k} {v}' for k, v in versions.items())}; {torch.get_num_threads()} torch thread(s)",
          file=sys.stderr, flush=True)
    items = protocol["items"]
    labels = np.array([it["classIndex"] for it in items], dtype=np.int64)
    feature_seconds, computed = 0.0, 0
    if feature_source == "emokit":
        x = np.array([[np.nan if v is None else v for v in row] for row in protocol["emokitFeatures"]], dtype=np.float64)
        features_desc = "EmoKit's own feature matrix (from the protocol file)"
    elif feature_source == "emokit-praat-voice":
        groups = protocol["groups"]
        if len(groups) != 1 or groups[0]["component"] != "handcrafted" or groups[0]["width"] != 65:
            print(json.dumps({"missing": "emokit-praat-voice needs the handcrafted study-a group (65 features) alone"}))
            return
        # Diagnostic: EmoKit's matrix with its 7 voice-quality columns (F1-F3, HNR, jitter, shimmer, speech rate)
        # replaced by the peer's Praat values; the 58 librosa columns stay EmoKit's.
        x = np.array([[np.nan if v is None else v for v in row] for row in protocol["emokitFeatures"]], dtype=np.float64)
        t0 = time.time()
        x[:, 58:65] = praat_for([it["path"] for it in protocol["items"]])
        feature_seconds = time.time() - t0
        features_desc = "EmoKit's librosa-equivalent columns + the peer's Praat voice-quality columns (diagnostic)"
    else:
        groups = protocol["groups"]
        if len(groups) != 1 or groups[0]["component"] != "handcrafted" or groups[0]["width"] != 65:
            print(json.dumps({"missing": "the peer computes only the handcrafted study-a group (65 features); "
                                         f"this protocol has {[g['name'] for g in groups]}"}))
            return
        missing = [it["path"] for it in items if not os.path.exists(it["path"])]
        if missing:
            print(json.dumps({"missing": f"{len(missing)} audio files not found, e.g. {missing[0]}"}))
            return
        x, computed, feature_seconds = features_for([it["path"] for it in items])
        features_desc = "librosa 0.11 (MFCC, chroma, centroid, roll-off, ZCR, pYIN) + Praat via parselmouth " \
                        "(formants, HNR, jitter, shimmer, speech rate)"
    scaling = protocol["scaling"]
    if scaling.get("groups") or scaling.get("statistics", "per-feature") != "per-feature":
        print(json.dumps({"missing": "the peer implements only per-feature scaling (global or per speaker; no per-group "
                                     "methods or per-group statistics)"}))
        return
    per_speaker = bool(scaling.get("perSpeaker"))
    speakers = [it.get("speaker", "") for it in items]
    runs = []
    try:
        for fold in protocol["folds"]:
            t0 = time.time()
            tr = np.array(fold["train"], dtype=np.int64)
            if per_speaker:
                xs, imputed = per_speaker_scale(x, fold, speakers, scaling.get("method", "standard"),
                                                scaling.get("unseenSpeakers", "global-train"))
            else:
                xs, imputed = impute_and_scale(x, tr, scaling.get("method", "standard"))
            probs, history, best_epoch = train_fold(torch, protocol, xs, labels, fold)
            te = np.array(fold["test"], dtype=np.int64)
            pred = probs.argmax(axis=1)
            acc = float(accuracy_score(labels[te], pred))
            mf1 = float(f1_score(labels[te], pred, average="macro", labels=list(range(len(protocol["classes"]))),
                                 zero_division=0))
            secs = time.time() - t0
            print(f"  peer seed {fold['seed']} {fold['split']}: accuracy {acc:.4f}, macro-F1 {mf1:.4f}, "
                  f"{len(history)} epochs, {secs:.1f} s", file=sys.stderr, flush=True)
            runs.append({"seed": fold["seed"], "split": fold["split"], "accuracy": acc, "macro_f1": mf1,
                         "predicted": [int(p) for p in pred],
                         "probabilities": [[round(float(v), 6) for v in row] for row in probs],
                         "epochs": len(history), "best_epoch": best_epoch, "history": history,
                         "imputed": imputed, "seconds": secs})
    except PeerUnavailable as e:
        print(json.dumps({"missing": str(e)}))
        return
    print(json.dumps({"peer": f"{features_desc}; PyTorch {torch.__version__} model of the same shapes",
                      "features": feature_source, "versions": versions, "feature_version": FEATURE_VERSION,
                      "feature_seconds": feature_seconds, "features_computed": computed,
                      "total_seconds": time.time() - t_start, "runs": runs}))


def main_compare(protocol_path):
    """Per feature: agreement of EmoKit's values (from the protocol) with the peer's cached values (clips cached so far)."""
    import numpy as np
    with open(protocol_path) as f:
        protocol = json.load(f)
    peer_rows, emokit_rows = [], []
    for it, row in zip(protocol["items"], protocol["emokitFeatures"]):
        cp = cache_path(it["path"])
        if os.path.exists(cp):
            peer_rows.append(np.load(cp))
            emokit_rows.append([np.nan if v is None else v for v in row])
    p, e = np.array(peer_rows), np.array(emokit_rows)
    print(f"{len(p)} of {len(protocol['items'])} clips have cached peer features")
    print(f"{'feature':24s} {'EmoKit mean':>12s} {'peer mean':>12s} {'corr':>6s} {'median rel':>10s} {'p95 rel':>9s}")
    out = {}
    for j, name in enumerate(protocol["featureNames"]):
        a, b = e[:, j], p[:, j]
        m = np.isfinite(a) & np.isfinite(b)
        rel = np.abs(a[m] - b[m]) / np.maximum(np.abs(a[m]), 1e-9)
        corr = float(np.corrcoef(a[m], b[m])[0, 1]) if m.sum() > 2 and a[m].std() > 0 and b[m].std() > 0 else float("nan")
        out[name] = {"emokit_mean": float(a[m].mean()), "peer_mean": float(b[m].mean()), "corr": corr,
                     "median_rel": float(np.median(rel)), "p95_rel": float(np.quantile(rel, 0.95))}
        print(f"{name:24s} {a[m].mean():12.4g} {b[m].mean():12.4g} {corr:6.3f} {np.median(rel):10.2g} {np.quantile(rel, 0.95):9.2g}")
    print(json.dumps({"clips": len(p), "features": out}))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "extract":
        main_extract(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "extract-praat":
        with open(sys.argv[2]) as f:
            praat_for([line.strip() for line in f if line.strip()])
        print(json.dumps({"done": True}))
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        main_compare(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "run":
        main_run(sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        print(json.dumps({"missing": "usage: peer_pipeline.py run PROTOCOL.json [--features peer|emokit] | extract LIST.txt | compare PROTOCOL.json"}))
