"""eGeMAPS v02 fixtures for EmoKit's openSMILE-exact `egemaps-v02` preset (Tests/HandcraftedTests/EGeMAPSTests.swift).

Peer: openSMILE 3.0 through PyPI `opensmile` 2.6.0 (pinned in requirements.txt; it ships SMILExtract's library and the
eGeMAPSv02 configs), FeatureSet.eGeMAPSv02 at both levels:
  LowLevelDescriptors: the 25 LLDs (`Loudness_sma3` ... `F3amplitudeLogRelF0_sma3nz`), one row per 10 ms frame
  Functionals:         the 88 functionals, one row per clip
on six real clips, full length (3 RAVDESS, 3 TESS, both sexes, several emotions), read with soundfile as float32 (the
samples the Swift test reads with libsndfile) and passed to Smile.process_signal at 16 kHz (no resampling).
Values are written with 7 significant digits (openSMILE computes in float32).

Run: /work/refenv/bin/python Tests/Reference/make_egemaps_fixtures.py
Deterministic (no randomness). Writes Tests/HandcraftedTests/Fixtures/egemaps_v02.json:
  {"versions":{...}, "lld_names":[25], "func_names":[88],
   "clips":[{"path":..., "samples":N, "lld":[[25] per frame], "func":[88]}]}

Survey mode: `... make_egemaps_fixtures.py --survey N OUT.json` writes the 88 functionals of N real clips (every k-th
of the sorted RAVDESS + TESS files); EGeMAPSTests.testSurveyAgainstOpenSMILE reads it when EMO_EGEMAPS_SURVEY=OUT.json.
"""
import os
import sys

import numpy as np
import opensmile
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import DATA, FIXTURES, run, survey_files, write_fixture, write_survey  # noqa: E402

OUT = os.path.join(FIXTURES, "egemaps_v02.json")
CLIPS = [
    "ravdess/Actor_01/03-01-05-01-01-01-01.flac",   # angry, male
    "ravdess/Actor_02/03-01-03-02-02-01-02.flac",   # happy, female
    "ravdess/Actor_13/03-01-04-01-01-01-13.flac",   # sad, male
    "tess/OAF_angry/OAF_back_angry.flac",           # older female
    "tess/YAF_sad/YAF_base_sad.flac",               # younger female
    "tess/YAF_fear/YAF_bite_fear.flac",
]


def smiles():
    fs = opensmile.FeatureSet.eGeMAPSv02
    return (opensmile.Smile(feature_set=fs, feature_level=opensmile.FeatureLevel.LowLevelDescriptors),
            opensmile.Smile(feature_set=fs, feature_level=opensmile.FeatureLevel.Functionals))


def read(path):
    y, sr = sf.read(path, dtype="float32")
    assert sr == 16000 and y.ndim == 1, path
    return y


def r7(a):
    return [float("%.7g" % v) for v in np.asarray(a, dtype=np.float64).ravel()]


def versions():
    return {"opensmile": opensmile.__version__, "numpy": np.__version__, "soundfile": sf.__version__,
            "python": sys.version.split()[0], "feature_set": "eGeMAPSv02"}


def main():
    lld, func = smiles()
    clips = []
    for rel in CLIPS:
        y = read(os.path.join(DATA, rel))
        L = lld.process_signal(y, 16000)
        F = func.process_signal(y, 16000)
        clips.append({"path": rel, "samples": int(len(y)),
                      "lld": [r7(row) for row in L.to_numpy()], "func": r7(F.to_numpy()[0])})
    doc = {"generator": "Tests/Reference/make_egemaps_fixtures.py", "versions": versions(),
           "lld_names": list(lld.feature_names), "func_names": list(func.feature_names), "clips": clips}
    write_fixture(OUT, doc, len(clips))


def survey(n, out):
    _, func = smiles()
    rows = []
    for path in survey_files(DATA, n):
        y = read(path)
        rows.append({"path": os.path.relpath(path, DATA), "samples": int(len(y)),
                     "func": r7(func.process_signal(y, 16000).to_numpy()[0])})
    write_survey(out, "Tests/Reference/make_egemaps_fixtures.py", versions(), rows)


if __name__ == "__main__":
    run(main, survey)
