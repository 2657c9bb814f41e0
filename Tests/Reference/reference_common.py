"""Pieces the Praat reference scripts share (praat_formants_reference.py, praat_voice_reference.py,
praat_pulses_reference.py): which real clips a survey takes, and how a fixture is written."""
import json
import os


def survey_files(data, n):
    """n real clips spread over the corpora: every k-th of the sorted RAVDESS + TESS FLAC files under `data`."""
    files = []
    for corpus in ("ravdess", "tess"):
        for dirpath, _, names in os.walk(os.path.join(data, corpus)):
            files += [os.path.join(dirpath, f) for f in names if f.endswith(".flac")]
    files.sort()
    step = max(1, len(files) // n)
    return files[::step][:n]


def write_fixture(path, doc, clips):
    """Writes `doc` as compact JSON and prints what was written (the scripts' last stdout line)."""
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(json.dumps({"written": clips, "file": path, "bytes": os.path.getsize(path)}))
