"""Peer side of `emo bench media`: librosa / soxr doing the same decode + resample work as EmoKit.

Usage: bench_media.py FILE_LIST [--resample-seconds S]
       bench_media.py --fixtures DATA_DIR OUT_JSON   (writes Tests/EmoMediaTests/Fixtures/originals_librosa.json)
  FILE_LIST: a text file with one audio path per line (the RAVDESS + TESS files EmoKit decoded).
Prints progress on stderr and one JSON object on the last stdout line:
  {"librosa": ver, "soxr": ver, "soundfile": ver, "numpy": ver, "files": N, "audio_seconds": S,
   "load_seconds": T (CPU seconds of librosa.load(path, sr=16000, mono=True), soxr_hq), "load_wall_seconds": W,
   "resample": {"48000": {"soxr_hq_msamples_per_s": ..., "soxr_vhq_msamples_per_s": ...}, "44100": {...}}}
or {"missing": "why"} when librosa/soxr are not installed.
Single-threaded, like EmoKit's side: OMP/OpenBLAS threads are not involved in soxr or libsndfile decoding.
"""
import json
import sys
import time


def main():
    try:
        import numpy as np
        import librosa
        import soundfile
        import soxr
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"missing": f"librosa/soxr/soundfile not importable: {e}"}))
        return
    args = sys.argv[1:]
    if args and args[0] == "--fixtures":
        write_fixtures(args[1], args[2])
        return
    if not args:
        print(json.dumps({"missing": "no file list given"}))
        return
    seconds = 60.0
    if "--resample-seconds" in args:
        i = args.index("--resample-seconds")
        seconds = float(args[i + 1])
        del args[i:i + 2]
    paths = [p.strip() for p in open(args[0], encoding="utf-8") if p.strip()]
    print(f"bench_media.py: librosa {librosa.__version__}, soxr {soxr.__version__}, soundfile {soundfile.__version__}, "
          f"numpy {np.__version__}; {len(paths)} files", file=sys.stderr)

    # Warm-up (imports, resampler init, page cache), not timed.
    librosa.load(paths[0], sr=16000, mono=True)
    for p in paths:
        with open(p, "rb") as f:
            f.read()
    total = 0
    t0 = time.process_time()
    w0 = time.perf_counter()
    for k, p in enumerate(paths):
        y, _ = librosa.load(p, sr=16000, mono=True)
        total += len(y)
        if (k + 1) % 1000 == 0:
            print(f"  {k + 1}/{len(paths)}", file=sys.stderr)
    load_s = time.process_time() - t0
    load_wall = time.perf_counter() - w0

    rng = np.random.default_rng(0)
    resample = {}
    for rate in (48000, 44100):
        x = rng.standard_normal(int(rate * seconds)).astype(np.float32) * 0.1
        out = {}
        for quality in ("HQ", "VHQ"):
            soxr.resample(x[:rate], rate, 16000, quality=quality)
            t = time.process_time()
            soxr.resample(x, rate, 16000, quality=quality)
            out[f"soxr_{quality.lower()}_msamples_per_s"] = len(x) / (time.process_time() - t) / 1e6
        resample[str(rate)] = out

    import hashlib
    blob = b"\x5a" * (64 << 20)
    t = time.process_time()
    hashlib.sha256(blob).hexdigest()
    sha_mbps = 64 / (time.process_time() - t)

    print(json.dumps({
        "librosa": librosa.__version__, "soxr": soxr.__version__, "soundfile": soundfile.__version__,
        "numpy": np.__version__, "files": len(paths), "audio_seconds": total / 16000.0,
        "load_seconds": load_s, "load_wall_seconds": load_wall, "timing": "process CPU seconds", "per_file_ms": 1000.0 * load_s / max(1, len(paths)),
        "resample_seconds_of_input": seconds, "resample": resample, "sha256_mb_per_s": sha_mbps,
    }))


def write_fixtures(data_dir, out_path):
    """librosa.load(sr=16000, soxr_hq) of every file in DATA_DIR/originals: length, RMS and a 0.05 s excerpt
    from the middle, for the Swift decoder test to compare against (fixed input, no randomness)."""
    import os
    import numpy as np
    import librosa
    import soxr
    files = []
    root = os.path.join(data_dir, "originals")
    for dirpath, _, names in sorted(os.walk(root)):
        for n in sorted(names):
            if n.endswith(".wav"):
                files.append(os.path.join(dirpath, n))
    out = {"generator": "Tests/Reference/bench_media.py --fixtures", "librosa": librosa.__version__,
           "soxr": soxr.__version__, "numpy": np.__version__, "call": "librosa.load(path, sr=16000, mono=True)",
           "files": []}
    for f in files:
        y, _ = librosa.load(f, sr=16000, mono=True)
        mid = len(y) // 2
        out["files"].append({
            "path": os.path.relpath(f, data_dir), "samples": int(len(y)),
            "rms": float(np.sqrt(np.mean(y.astype(np.float64) ** 2))),
            "excerpt_start": int(mid), "excerpt": [float(v) for v in y[mid:mid + 800]],
        })
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    print(json.dumps({"written": out_path, "files": len(files)}))


if __name__ == "__main__":
    main()
