"""Praat pitch / harmonicity / intensity fixtures for EmoKit's Praat-compatible voice measures
(Tests/HandcraftedTests/PraatPitchTests.swift).

Praat 6.1.38 through praat-parselmouth 0.4.7, exactly the calls the peer pipeline makes
(Tests/Reference/peer_pipeline.py, `praat_features`):
  pitch       = snd.to_pitch(time_step=0.01, pitch_floor=75, pitch_ceiling=600)        ("To Pitch (ac)", defaults)
  harmonicity = snd.to_harmonicity_ac(time_step=0.01, minimum_pitch=75, silence_threshold=0.1,
                                      periods_per_window=4.5); mean over frames != -200
  intensity   = snd.to_intensity(minimum_pitch=50, time_step=0.01)                    (subtract mean: yes)
  speech rate = the peer's de Jong & Wempe rule on that intensity, voicing from that pitch
  F1-F3 means = to_formant_burg(time_step=0.01, ...) values (get_value_at_time) at the voiced pitch frame times
on six real clips, full length (3 RAVDESS, 3 TESS; read with libsndfile as float32, promoted to float64 as the
Swift test does). Writes Tests/HandcraftedTests/Fixtures/praat_voice.json: per clip the pitch frames (x1, dt,
frequency and strength of the chosen candidate per frame), the harmonicity frames (dB, -200 = silent) and their
mean, the intensity frames (dB), the speech rate and the three formant means.

Run: /work/refenv/bin/python Tests/Reference/praat_voice_reference.py
Deterministic (no randomness).

Survey mode: `... praat_voice_reference.py --survey N OUT.json` takes N real clips (every k-th of the sorted
RAVDESS + TESS files, full length) and writes, per clip, the peer's values from peer_pipeline.praat_features
itself (HNR mean, speech rate, F1-F3 means). PraatPitchTests.testSurveyAgainstPraat reads that file when
EMO_PRAAT_VOICE_SURVEY=OUT.json is set.
"""
import json
import os
import sys

import numpy as np
import parselmouth
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference_common (and peer_pipeline)
from reference_common import DATA, FIXTURES, run, survey_files, write_fixture, write_survey  # noqa: E402
OUT = os.path.join(FIXTURES, "praat_voice.json")
CLIPS = [
    "ravdess/Actor_01/03-01-05-01-01-01-01.flac",   # angry, male
    "ravdess/Actor_02/03-01-03-02-02-01-02.flac",   # happy, female
    "ravdess/Actor_13/03-01-01-01-01-01-13.flac",   # neutral, male
    "tess/OAF_angry/OAF_back_angry.flac",
    "tess/YAF_sad/YAF_base_sad.flac",
    "tess/YAF_fear/YAF_bite_fear.flac",
]


def versions():
    return {"parselmouth": parselmouth.__version__, "praat": parselmouth.PRAAT_VERSION,
            "numpy": np.__version__, "soundfile": sf.__version__, "python": sys.version.split()[0]}


def peer_rate_and_formants(snd, pitch, duration):
    """The peer's speech rate and F1-F3 means (peer_pipeline.praat_features' own functions); None for NaN."""
    from peer_pipeline import praat_formant_means, praat_speech_rate
    voiced = int((pitch.selected_array["frequency"] > 0).sum())
    fmeans = [None if np.isnan(v) else v for v in praat_formant_means(snd, pitch)]
    inten, rate = praat_speech_rate(snd, pitch, duration)
    return inten, (None if np.isnan(rate) else rate), fmeans, voiced


def main():
    print("versions:", versions(), file=sys.stderr)
    clips = []
    for rel in CLIPS:
        y, sr = sf.read(os.path.join(DATA, rel), dtype="float32")
        assert sr == 16000 and y.ndim == 1, rel
        y = y.astype(np.float64)
        snd = parselmouth.Sound(y, sampling_frequency=sr)
        pitch = snd.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
        sel = pitch.selected_array
        harm = snd.to_harmonicity_ac(time_step=0.01, minimum_pitch=75.0, silence_threshold=0.1,
                                     periods_per_window=4.5)
        hv = harm.values[0]
        hmean = float(hv[hv != -200].mean()) if np.any(hv != -200) else None
        inten, rate, fmeans, nvoiced = peer_rate_and_formants(snd, pitch, len(y) / sr)
        clips.append({
            "path": rel, "samples": int(len(y)),
            "pitch": {"x1": float(pitch.x1), "dt": float(pitch.dx), "n": int(pitch.n_frames),
                      "f0": [float(v) for v in sel["frequency"]],
                      "strength": [float(v) for v in sel["strength"]]},
            "harmonicity": {"x1": float(harm.x1), "dt": float(harm.dx), "values": [float(v) for v in hv],
                            "mean": hmean},
            "intensity": {"x1": float(inten.x1), "dt": float(inten.dx), "values": [float(v) for v in inten.values[0]]},
            "speech_rate": rate, "formant_means": fmeans, "voiced_frames": nvoiced,
        })
        print(f"{rel}: {pitch.n_frames} pitch frames ({nvoiced} voiced), HNR mean {hmean}, rate {rate}, "
              f"F1-F3 {fmeans}", file=sys.stderr)
    doc = {"generator": "Tests/Reference/praat_voice_reference.py", "versions": versions(),
           "settings": {"pitch": {"time_step": 0.01, "pitch_floor": 75.0, "pitch_ceiling": 600.0},
                        "harmonicity": {"time_step": 0.01, "minimum_pitch": 75.0, "silence_threshold": 0.1,
                                        "periods_per_window": 4.5},
                        "intensity": {"minimum_pitch": 50.0, "time_step": 0.01, "subtract_mean": True},
                        "formants": {"time_step": 0.01, "max_number_of_formants": 5, "maximum_formant": 5500.0,
                                     "window_length": 0.025, "pre_emphasis_from": 50.0}},
           "clips": clips}
    write_fixture(OUT, doc, len(clips))


def survey(n, out):
    from peer_pipeline import praat_features, read_audio
    picked = survey_files(DATA, n)
    rows = []
    for path in picked:
        y, sr = read_audio(path)
        v = praat_features(y, sr)   # F1, F2, F3, HNR, jitter, shimmer, speech rate

        def num(x):
            return float(x) if np.isfinite(x) else None
        rows.append({"path": os.path.relpath(path, DATA), "formant_means": [num(v[0]), num(v[1]), num(v[2])],
                     "hnr_mean": num(v[3]), "speech_rate": num(v[6])})
    write_survey(out, "Tests/Reference/praat_voice_reference.py --survey", versions(), rows)


if __name__ == "__main__":
    run(main, survey)
