"""Praat formant fixtures for EmoKit's `formant_method: praat-burg` (Tests/HandcraftedTests/PraatFormantTests.swift).

Praat 6.1.38 through praat-parselmouth 0.4.7: `Sound: To Formant (burg)` with Praat's defaults (time step None =
window/4 = 0.00625 s, 5 formants, maximum formant 5500 Hz, window length 0.025 s, pre-emphasis from 50 Hz) on the
first 2.5 s of four real clips (2 RAVDESS, 2 TESS; read with libsndfile as float32, promoted to float64 as the Swift
test does). Writes Tests/HandcraftedTests/Fixtures/praat_formants.json: per clip the frame times and F1, F2, F3 of
every frame (null where Praat found fewer formants), and their means over all frames; and Praat's median F1-F3 on
two synthetic vowels built exactly as VoiceQualityTests.vowel builds them (125 Hz pulse train, 1.5 s, through
two-pole resonators at 700/1220/2600 Hz, and at 700/1220/2600/3600/4500 Hz).

Run: /work/refenv/bin/python Tests/Reference/praat_formants_reference.py
Deterministic (no randomness).

Survey mode: `... praat_formants_reference.py --survey N OUT.json` takes N real clips (every k-th of the sorted
RAVDESS + TESS files, full length) and writes, per clip, Praat's F1-F3 means the way the peer pipeline
(Tests/Reference/peer_pipeline.py) computes them: To Formant (burg) with a 10 ms step, values at the frames Praat's
pitch (75-600 Hz, 10 ms) calls voiced; and the means of Praat's default track (6.25 ms) over the frames librosa
0.11's pYIN (C2-C7, frame 2048, hop 512: EmoKit's voicing) calls voiced, which is what `praat-burg` computes, so the
two columns separate the tracker from the voicing mask. PraatFormantTests.testSurveyAgainstPraat reads that file when
EMO_PRAAT_SURVEY=OUT.json is set and compares EmoKit's lpc and praat-burg clip means with it.
"""
import json
import os
import sys

import numpy as np
import parselmouth
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference_common (and peer_pipeline)
from reference_common import DATA, FIXTURES, run, survey_files, write_fixture, write_survey  # noqa: E402
OUT = os.path.join(FIXTURES, "praat_formants.json")
N = 40000  # 2.5 s at 16 kHz
CLIPS = [
    "ravdess/Actor_01/03-01-05-01-01-01-01.flac",   # angry, male
    "ravdess/Actor_02/03-01-03-02-02-01-02.flac",   # happy, female
    "tess/OAF_angry/OAF_back_angry.flac",
    "tess/YAF_sad/YAF_base_sad.flac",
]


SYNTHETIC = {
    "three": [(700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0)],
    "five": [(700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0), (3600.0, 150.0), (4500.0, 200.0)],
}


def vowel(formants, sr=16000, period=128, count=188):
    """VoiceQualityTests.vowel: unit pulses every `period` samples through a cascade of two-pole resonators."""
    n = period * count
    x = np.zeros(n)
    x[::period] = 1.0
    for f, bw in formants:
        r = np.exp(-np.pi * bw / sr)
        a1, a2 = 2 * r * np.cos(2 * np.pi * f / sr), -r * r
        y1 = y2 = 0.0
        for i in range(n):
            y = x[i] + a1 * y1 + a2 * y2
            y2, y1 = y1, y
            x[i] = y
    return 0.5 * x / np.max(np.abs(x))


def main():
    versions = {"parselmouth": parselmouth.__version__, "praat": parselmouth.PRAAT_VERSION,
                "numpy": np.__version__, "soundfile": sf.__version__, "python": sys.version.split()[0]}
    print("versions:", versions, file=sys.stderr)
    clips = []
    for rel in CLIPS:
        y, sr = sf.read(os.path.join(DATA, rel), dtype="float32")
        assert sr == 16000 and y.ndim == 1, rel
        y = y[:N].astype(np.float64)
        snd = parselmouth.Sound(y, sampling_frequency=sr)
        fm = snd.to_formant_burg(time_step=None, max_number_of_formants=5.0, maximum_formant=5500.0,
                                 window_length=0.025, pre_emphasis_from=50.0)
        times = [float(t) for t in fm.xs()]
        tracks = []
        for i in (1, 2, 3):
            vals = [fm.get_value_at_time(i, t) for t in times]   # at a frame centre: that frame's value
            tracks.append([float(v) if np.isfinite(v) else None for v in vals])
        means = [float(np.mean([v for v in tr if v is not None])) for tr in tracks]
        clips.append({"path": rel, "samples": int(len(y)), "times": times, "f1": tracks[0], "f2": tracks[1],
                      "f3": tracks[2], "means_all_frames": means})
    synthetic = {}
    for name, fs in SYNTHETIC.items():
        fm = parselmouth.Sound(vowel(fs), sampling_frequency=16000).to_formant_burg()
        med = []
        for i in (1, 2, 3):
            v = np.array([fm.get_value_at_time(i, t) for t in fm.xs()])
            med.append(float(np.median(v[np.isfinite(v)])))
        synthetic[name] = {"resonances_hz": [f for f, _ in fs], "praat_median_f1_f3": med, "frames": int(fm.n_frames)}
    doc = {"generator": "Tests/Reference/praat_formants_reference.py", "versions": versions,
           "settings": {"time_step": None, "max_number_of_formants": 5, "maximum_formant": 5500.0,
                        "window_length": 0.025, "pre_emphasis_from": 50.0}, "clips": clips, "synthetic": synthetic}
    write_fixture(OUT, doc, len(clips))


def survey(n, out):
    import librosa
    from peer_pipeline import praat_formant_means
    rows = []
    for path in survey_files(DATA, n):
        y, sr = sf.read(path, dtype="float32")
        snd = parselmouth.Sound(y.astype(np.float64), sampling_frequency=sr)
        pitch = snd.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=600.0)
        means = [None if np.isnan(m) else m for m in praat_formant_means(snd, pitch)]   # the peer's own function
        _, voiced, _ = librosa.pyin(y.astype(np.float64), fmin=librosa.note_to_hz("C2"),
                                    fmax=librosa.note_to_hz("C7"), sr=sr, frame_length=2048, hop_length=512)
        fd = snd.to_formant_burg()   # Praat's defaults: 6.25 ms
        ts = np.array(fd.xs())
        k = np.clip(np.rint((ts * sr - 0.5) / 512).astype(int), 0, len(voiced) - 1)
        pyin_means = []
        for i in (1, 2, 3):
            v = np.array([fd.get_value_at_time(i, t) for t in ts[voiced[k]]], dtype=np.float64)
            v = v[np.isfinite(v)]
            pyin_means.append(float(v.mean()) if v.size else None)
        rows.append({"path": os.path.relpath(path, DATA), "praat_peer_means": means,
                     "praat_default_pyin_voiced_means": pyin_means})
    write_survey(out, "Tests/Reference/praat_formants_reference.py --survey",
                 {"parselmouth": parselmouth.__version__, "praat": parselmouth.PRAAT_VERSION,
                  "librosa": librosa.__version__}, rows)

if __name__ == "__main__":
    run(main, survey)
