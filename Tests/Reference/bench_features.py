#!/usr/bin/env python3
"""Peer side of `emo bench features`: librosa 0.11 computing the study-a features it has, one clip at a time.

Usage: bench_features.py LIST_FILE MAX_SAMPLES [praat]
LIST_FILE holds one absolute FLAC path per line. Each clip is read with soundfile as float32 (librosa's usual
dtype), cut to MAX_SAMPLES, and analysed single-threaded (OMP/OpenBLAS/MKL/numba threads = 1) with:
  mfcc(n_mfcc=40) means, chroma_stft means, spectral_centroid, spectral_rolloff, zero_crossing_rate means,
  pyin(fmin=C2, fmax=C7): mean and std of voiced f0, voiced fraction.
Formants, HNR, jitter, shimmer and speech rate have no librosa implementation. With the third argument `praat`
the peer also computes them the way EmoKit's `voice_method: praat` does, with Praat through praat-parselmouth
(peer_pipeline.praat_features: To Pitch (ac), To Formant (burg), To Harmonicity (ac), To PointProcess (periodic,
cc), To Intensity), timed inside the same per-clip loop and also reported alone as praat_seconds; without it the
peer column lacks them (EmoKit's column always has the full study-a set).
The first clip is run once untimed (numba JIT compilation); its cost is reported separately as warmup_s.
Prints one JSON object on the last stdout line.
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"
import json
import sys
import time

try:
    import numpy as np
    import librosa
    import soundfile as sf
except ImportError as e:
    print(json.dumps({"missing": f"librosa/soundfile not importable with {sys.executable}: {e}"}))
    sys.exit(0)

SR = 16000
FMIN, FMAX = librosa.note_to_hz("C2"), librosa.note_to_hz("C7")


def study_a(y):
    out = []
    out += list(librosa.feature.mfcc(y=y, sr=SR, n_mfcc=40).mean(axis=1))
    out += list(librosa.feature.chroma_stft(y=y, sr=SR).mean(axis=1))
    out.append(float(librosa.feature.spectral_centroid(y=y, sr=SR).mean()))
    out.append(float(librosa.feature.spectral_rolloff(y=y, sr=SR).mean()))
    out.append(float(librosa.feature.zero_crossing_rate(y).mean()))
    f0, voiced, _ = librosa.pyin(y, sr=SR, fmin=FMIN, fmax=FMAX)
    v = f0[voiced]
    out += [float(v.mean()) if v.size else float("nan"), float(v.std()) if v.size else float("nan"),
            float(voiced.mean())]
    # JSON has no NaN: an unvoiced clip's f0 statistics go out as null
    return [None if np.isnan(x) else float(x) for x in out]


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "praat"):
        print(json.dumps({"missing": "usage: bench_features.py LIST_FILE MAX_SAMPLES [praat]"}))
        return
    with_praat = len(sys.argv) == 4
    praat = None
    if with_praat:
        try:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import parselmouth
            from peer_pipeline import praat_features as praat
        except ImportError as e:
            print(json.dumps({"missing": f"the Praat column needs praat-parselmouth: {e}"}))
            return
    paths = [p.strip() for p in open(sys.argv[1]) if p.strip()]
    max_samples = int(sys.argv[2])
    clips = []
    for p in paths:
        y, sr = sf.read(p, dtype="float32")
        if sr != SR or y.ndim != 1:
            print(json.dumps({"missing": f"{p}: expected 16 kHz mono, got {sr} Hz shape {y.shape}"}))
            return
        clips.append(y[:max_samples])
    t0 = time.perf_counter()
    study_a(clips[0])
    if praat:
        praat(clips[0], SR)
    warmup = time.perf_counter() - t0
    vectors, times, praat_times = [], [], []
    cpu0 = time.process_time()
    for k, y in enumerate(clips):
        t = time.perf_counter()
        vectors.append(study_a(y))
        if praat:
            tp = time.perf_counter()
            praat(y, SR)
            praat_times.append(time.perf_counter() - tp)
        times.append(time.perf_counter() - t)
        if (k + 1) % 50 == 0:
            print(f"librosa: {k + 1}/{len(clips)} clips, {sum(times):.1f} s", file=sys.stderr)
    print(json.dumps({
        "librosa": librosa.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "clips": len(clips), "seconds": sum(times), "cpu_seconds": time.process_time() - cpu0, "warmup_s": warmup,
        "audio_seconds": sum(len(y) for y in clips) / SR,
        "praat_seconds": sum(praat_times) if praat else None,
        "praat": (parselmouth.PRAAT_VERSION + " via praat-parselmouth " + parselmouth.__version__) if praat else None,
        "names": [f"mfcc_{i}_mean" for i in range(1, 41)]
                 + [f"chroma_{n}_mean" for n in ["c", "cs", "d", "ds", "e", "f", "fs", "g", "gs", "a", "as", "b"]]
                 + ["spectral_centroid_mean", "spectral_rolloff_mean", "zcr_mean", "f0_hz_mean", "f0_hz_std",
                    "voiced_fraction"],
        "vectors": vectors,
    }))


if __name__ == "__main__":
    main()
