#!/usr/bin/env python3
"""Peer side of `emo bench features --egemaps`: openSMILE 3.0 (PyPI opensmile, pinned in requirements.txt)
computing the eGeMAPSv02 functionals, one clip at a time, single thread (openSMILE runs one thread per process).

Usage: bench_egemaps.py LIST_FILE MAX_SAMPLES
LIST_FILE holds one absolute FLAC path per line; each clip is read with soundfile as float32, cut to MAX_SAMPLES
and passed to Smile.process_signal at 16 kHz. The first clip is run once untimed. `seconds` is the whole
process_signal call; `smileapi_seconds` only openSMILE's own work inside it (SMILEapi initialize + run + free, the
part SMILExtract would do per file), measured by wrapping those three calls.
Prints one JSON object on the last stdout line (names and vectors included for the agreement check).
"""
import json
import sys
import time

try:
    import numpy as np
    import opensmile
    import opensmile.core.lib as smilelib
    import soundfile as sf
except ImportError as e:
    print(json.dumps({"missing": f"opensmile/soundfile not importable with {sys.executable}: {e}"}))
    sys.exit(0)

SMILEAPI = [0.0]


def timed(cls, name):
    inner = getattr(cls, name)

    def wrapper(self, *a, **k):
        t = time.perf_counter()
        try:
            return inner(self, *a, **k)
        finally:
            SMILEAPI[0] += time.perf_counter() - t
    setattr(cls, name, wrapper)


def main():
    if len(sys.argv) != 3:
        print(json.dumps({"missing": "usage: bench_egemaps.py LIST_FILE MAX_SAMPLES"}))
        return
    for name in ("initialize", "run", "free"):
        timed(smilelib.OpenSMILE, name)
    paths = [p.strip() for p in open(sys.argv[1]) if p.strip()]
    max_samples = int(sys.argv[2])
    clips = [sf.read(p, dtype="float32")[0][:max_samples] for p in paths]
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    smile.process_signal(clips[0], 16000)
    SMILEAPI[0] = 0.0
    vectors = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    for y in clips:
        vectors.append([float(v) for v in smile.process_signal(y, 16000).to_numpy()[0]])
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "opensmile": opensmile.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "clips": len(clips), "seconds": seconds, "cpu_seconds": time.process_time() - cpu0,
        "smileapi_seconds": SMILEAPI[0], "names": list(smile.feature_names), "vectors": vectors,
    }))


if __name__ == "__main__":
    main()
