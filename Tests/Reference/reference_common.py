"""Pieces the reference scripts share: for the Praat ones (praat_formants_reference.py, praat_voice_reference.py,
praat_pulses_reference.py) which real clips a survey takes and how a fixture is written; for the MELD peers
(meld_text_peer.py, meld_finetune_peer.py, bench_finetune.py, check_finetuned_bundle.py) how an official split is
read."""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))                   # the repository
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")    # ../shared/data
FIXTURES = os.path.join(ROOT, "Tests", "HandcraftedTests", "Fixtures")
MELD_CLASSES = ["anger", "joy", "neutral", "sadness", "surprise"]  # Study B's five


def rss_mb(field="VmRSS"):
    """This process's resident memory now (VmRSS), or its peak with field="VmHWM", in MB.

    The peak is read from /proc, not getrusage: ru_maxrss survives exec, so a peer started by a large EmoKit process
    reports EmoKit's peak when its own is smaller (the forked child briefly shares the parent's whole resident set).
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def meld_split(name):
    """One official MELD split ("train", "dev", "test") from ../shared/data/meld/NAME_sent_emo.csv, in file order,
    keeping Study B's five classes: (utterances, class indices into MELD_CLASSES)."""
    with open(os.path.join(DATA, "meld", "%s_sent_emo.csv" % name), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Emotion"].strip().lower() in MELD_CLASSES]
    return [r["Utterance"] for r in rows], [MELD_CLASSES.index(r["Emotion"].strip().lower()) for r in rows]


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


def write_survey(out, generator, versions, rows):
    """Writes a survey file (`--survey N OUT.json`) and prints how many clips it holds."""
    with open(out, "w") as f:
        json.dump({"generator": generator, "versions": versions, "clips": rows}, f)
    print(json.dumps({"survey": len(rows), "file": out}))


def run(main, survey):
    """The scripts' command line: `--survey N OUT.json` runs `survey(N, OUT)`, no arguments `main()`."""
    if len(sys.argv) == 4 and sys.argv[1] == "--survey":
        survey(int(sys.argv[2]), sys.argv[3])
    else:
        main()
