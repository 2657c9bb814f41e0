#!/usr/bin/env python3
"""Fixtures for Tests/HandcraftedTests: librosa 0.11 features of a few real clips from ../shared/data.

Run from the repository root:  python Tests/Reference/handcrafted_reference.py
Writes Tests/HandcraftedTests/Fixtures/handcrafted_index.json and one little-endian float32 file per clip.

Each clip is read with soundfile (libsndfile, float32, exactly what the Swift test reads with sf_read_float),
cut to its first N samples, promoted to float64, and analysed with librosa's defaults (n_fft 2048, hop 512,
centred frames, constant padding), n_mfcc 40, pYIN fmin = C2, fmax = C7. float64 input makes librosa compute in
float64, so the fixture is librosa's algorithm without float32 rounding noise.
"""
import json
import os
import sys

import numpy as np

try:
    import librosa
    import scipy
    import soundfile as sf
except ImportError as e:  # pragma: no cover
    print(json.dumps({"missing": f"librosa/scipy/soundfile not importable: {e}"}))
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "Tests", "HandcraftedTests", "Fixtures")
SR = 16000
N = 40000  # 2.5 s

CLIPS = [
    "ravdess/Actor_01/03-01-05-01-01-01-01.flac",   # angry, male
    "ravdess/Actor_02/03-01-03-02-02-01-02.flac",   # happy, female
    "tess/OAF_angry/OAF_back_angry.flac",
    "tess/YAF_sad/YAF_base_sad.flac",
]


def analyse(y):
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    feats = {}
    feats["mel"] = librosa.feature.melspectrogram(y=y, sr=SR)
    feats["mfcc"] = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=40)
    feats["chroma"] = librosa.feature.chroma_stft(y=y, sr=SR)
    feats["tuning"] = np.array([librosa.estimate_tuning(S=S, sr=SR, bins_per_octave=12)])
    feats["centroid"] = librosa.feature.spectral_centroid(y=y, sr=SR)
    feats["bandwidth"] = librosa.feature.spectral_bandwidth(y=y, sr=SR)
    feats["rolloff"] = librosa.feature.spectral_rolloff(y=y, sr=SR)
    feats["flatness"] = librosa.feature.spectral_flatness(y=y)
    feats["contrast"] = librosa.feature.spectral_contrast(y=y, sr=SR)
    feats["zcr"] = librosa.feature.zero_crossing_rate(y)
    feats["rms"] = librosa.feature.rms(y=y)
    f0, vflag, vprob = librosa.pyin(y, sr=SR, fmin=librosa.note_to_hz("C2"), fmax=librosa.note_to_hz("C7"))
    feats["f0"] = f0
    feats["voiced"] = vflag.astype(np.float64)
    feats["voiced_prob"] = vprob
    return feats


def main():
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, soundfile {sf.__version__}",
          file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    index = {"librosa": librosa.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
             "sample_rate": SR, "clips": []}
    for k, rel in enumerate(CLIPS):
        y32, sr = sf.read(os.path.join(DATA, rel), dtype="float32")
        assert sr == SR and y32.ndim == 1, (rel, sr, y32.shape)
        y = y32[:N].astype(np.float64)
        feats = analyse(y)
        name = f"handcrafted_clip{k}.bin"
        arrays, offset, blobs = [], 0, []
        for key, arr in feats.items():
            a = np.atleast_2d(np.asarray(arr, dtype=np.float64))
            if a.ndim == 3:
                a = a[0]
            blobs.append(a.astype("<f4").tobytes())   # [rows, frames], row-major
            arrays.append({"name": key, "shape": list(a.shape), "offset": offset})
            offset += a.size
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(b"".join(blobs))
        index["clips"].append({"path": rel, "samples": int(len(y)), "file": name, "arrays": arrays})
        print(f"{rel}: {len(y)} samples, voiced {int(feats['voiced'].sum())}/{feats['voiced'].size}", file=sys.stderr)
    with open(os.path.join(OUT, "handcrafted_index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
    print(json.dumps({"written": len(CLIPS), "dir": OUT}))


if __name__ == "__main__":
    main()
