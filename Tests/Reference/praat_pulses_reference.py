"""Praat glottal-pulse, jitter and shimmer fixtures for EmoKit's PraatPointProcess / PraatJitterShimmer
(Tests/HandcraftedTests/PraatPointProcessTests.swift).

Praat 6.1.38 through praat-parselmouth 0.4.7, exactly as the peer pipeline (Tests/Reference/peer_pipeline.py) calls it:
`To PointProcess (periodic, cc)` 75-600 Hz on the Sound, then `Get jitter (local)` 0, 0, 0.0001, 0.02, 1.3 and
`Get shimmer (local)` 0, 0, 0.0001, 0.02, 1.3, 1.6. "To PointProcess (periodic, cc)" computes Praat's pitch
internally (`To Pitch` with time step 0 = 0.75 / floor = 0.01 s, floor 75 Hz, ceiling 600 Hz and Praat's other
defaults) and then runs `Sound & Pitch: To PointProcess (cc)`; this script checks, per clip, that the pulses of
`call([snd, pitch], "To PointProcess (cc)")` with the default-time-step `snd.to_pitch_ac(None, 75, 600)` are
bit-identical to the periodic-cc ones, and stores that pitch contour (x1, dt, f0 per frame; 0 = unvoiced) so the
Swift test can feed Praat's own pitch to EmoKit's pulse finder.

Writes Tests/HandcraftedTests/Fixtures/praat_pulses.json: six real clips (3 RAVDESS, 3 TESS, full length, read with
libsndfile as float32 and promoted to float64 as the Swift test does), each with Praat's pitch contour, pulse times,
jitter (local), shimmer (local) and the number of AmplitudeTier points shimmer used; plus a synthetic voice with
known jitter and shimmer (unit impulses with periods alternating 120/124 samples and amplitudes alternating 1/0.8,
through two-pole resonators at 700/1220/2600 Hz; `synthetic_voice` below, rebuilt in the Swift test).

Run: /work/refenv/bin/python Tests/Reference/praat_pulses_reference.py
Deterministic (no randomness).

Survey mode: `... praat_pulses_reference.py --survey N OUT.json` takes N real clips (every k-th of the sorted
RAVDESS + TESS files, full length) and writes, per clip, Praat's pitch contour, pulse count, jitter and shimmer as
the peer computes them. PraatPointProcessTests.testSurveyAgainstPraat reads that file when
EMO_PRAAT_PULSES_SURVEY=OUT.json is set.
"""
import json
import math
import os
import sys

import numpy as np
import parselmouth
import soundfile as sf
from parselmouth.praat import call

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference_common (and peer_pipeline)
from reference_common import DATA, FIXTURES, run, survey_files, write_fixture, write_survey  # noqa: E402
OUT = os.path.join(FIXTURES, "praat_pulses.json")
FLOOR, CEILING = 75.0, 600.0
JITTER_ARGS = (0, 0, 0.0001, 0.02, 1.3)
SHIMMER_ARGS = (0, 0, 0.0001, 0.02, 1.3, 1.6)
CLIPS = [
    "ravdess/Actor_01/03-01-05-01-01-01-01.flac",   # angry, male
    "ravdess/Actor_02/03-01-03-02-02-01-02.flac",   # happy, female
    "ravdess/Actor_11/03-01-04-01-02-02-11.flac",   # sad, male
    "tess/OAF_angry/OAF_back_angry.flac",
    "tess/YAF_sad/YAF_base_sad.flac",
    "tess/OAF_fear/OAF_bath_fear.flac",
]


def synthetic_voice(sr=16000, count=130):
    """Impulses 1, 0.8, 1, 0.8, ... spaced 120, 124, 120, ... samples, through three two-pole resonators, scaled to
    peak 0.5 (the Swift test builds the same samples)."""
    periods = [120 if k % 2 == 0 else 124 for k in range(count)]
    n = sum(periods)
    x = [0.0] * n
    pos = 0
    for k, p in enumerate(periods):
        x[pos] = 1.0 if k % 2 == 0 else 0.8
        pos += p
    for f, bw in [(700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0)]:
        r = math.exp(-math.pi * bw / sr)
        a1, a2 = 2 * r * math.cos(2 * math.pi * f / sr), -r * r
        y1 = y2 = 0.0
        for i in range(n):
            y = x[i] + a1 * y1 + a2 * y2
            y2, y1 = y1, y
            x[i] = y
    peak = max(abs(v) for v in x)
    return np.array([0.5 * v / peak for v in x], dtype=np.float64)


def points(pp):
    return [float(call(pp, "Get time from index", i + 1)) for i in range(int(call(pp, "Get number of points")))]


def undefined_to_none(v):
    v = float(v)
    return v if math.isfinite(v) else None


def analyse(y, sr, check=True):
    """Praat's pitch (as To PointProcess (periodic, cc) computes it), pulses, jitter, shimmer of one signal."""
    snd = parselmouth.Sound(y, sampling_frequency=sr)
    pp = call(snd, "To PointProcess (periodic, cc)", FLOOR, CEILING)
    pitch = snd.to_pitch_ac(time_step=None, pitch_floor=FLOOR, pitch_ceiling=CEILING)
    if check:
        again = points(call([snd, pitch], "To PointProcess (cc)"))
        assert again == points(pp), "To PointProcess (cc) with the default-step pitch differs from periodic cc"
        assert abs(pitch.time_step - 0.75 / FLOOR) < 1e-15
    jitter = undefined_to_none(call(pp, "Get jitter (local)", *JITTER_ARGS))
    shimmer = undefined_to_none(call([snd, pp], "Get shimmer (local)", *SHIMMER_ARGS))
    n = int(call(pp, "Get number of points"))
    amp_points = None
    if n >= 3:
        tier = call([pp, snd], "To AmplitudeTier (period)", 0, 0, 0.0001, 0.02, 1.3)
        amp_points = int(call(tier, "Get number of points"))
    return {"pitch": {"x1": float(pitch.x1), "dt": float(pitch.time_step),
                      "f0": [float(v) for v in pitch.selected_array["frequency"]]},
            "pulses": points(pp), "jitter_local": jitter, "shimmer_local": shimmer,
            "amplitude_points": amp_points}


def versions():
    return {"parselmouth": parselmouth.__version__, "praat": parselmouth.PRAAT_VERSION,
            "numpy": np.__version__, "soundfile": sf.__version__, "python": sys.version.split()[0]}


def read(path):
    y, sr = sf.read(path, dtype="float32")
    assert sr == 16000 and y.ndim == 1, path
    return y.astype(np.float64), sr


def main():
    v = versions()
    print("versions:", v, file=sys.stderr)
    clips = []
    for rel in CLIPS:
        y, sr = read(os.path.join(DATA, rel))
        row = {"path": rel, "samples": int(len(y))}
        row.update(analyse(y, sr))
        clips.append(row)
    syn = synthetic_voice()
    s = analyse(syn, 16000)
    s.update({"samples": int(len(syn)), "periods_samples": [120, 124], "amplitudes": [1.0, 0.8],
              "resonances_hz": [700.0, 1220.0, 2600.0]})
    doc = {"generator": "Tests/Reference/praat_pulses_reference.py", "versions": v,
           "settings": {"pitch": "To Pitch (ac) time step 0 (= 0.01 s), floor 75, ceiling 600, Praat defaults",
                        "pulses": "To PointProcess (periodic, cc) 75 600",
                        "jitter_local": list(JITTER_ARGS), "shimmer_local": list(SHIMMER_ARGS)},
           "clips": clips, "synthetic": s}
    write_fixture(OUT, doc, len(clips))


def survey(n, out):
    rows = []
    for path in survey_files(DATA, n):
        y, sr = read(path)
        r = analyse(y, sr, check=False)
        rows.append({"path": os.path.relpath(path, DATA), "pitch": r["pitch"], "pulse_count": len(r["pulses"]),
                     "jitter_local": r["jitter_local"], "shimmer_local": r["shimmer_local"]})
    write_survey(out, "Tests/Reference/praat_pulses_reference.py --survey", versions(), rows)


if __name__ == "__main__":
    run(main, survey)
