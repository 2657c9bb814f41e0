#!/usr/bin/env python3
"""Word error rate of the Whisper transcripts EmoKit stored for RAVDESS and TESS, against the known sentences:
RAVDESS statement 01 "kids are talking by the door", 02 "dogs are sitting by the door"; TESS "say the word WORD"
(WORD from the file name). Reads the transcripts table of a feature store (written by a run with a transcript group,
e.g. docs/pipelines/study-a-text-real.json).

    python3 Tests/Reference/transcript_wer.py [STORE]   (default ~/.cache/emokit/features.sqlite)

Normalisation: lower case, punctuation removed (apostrophes kept), words split on whitespace. WER = (substitutions +
deletions + insertions) / reference words, summed over clips. Prints one JSON object.
"""
import json
import os
import re
import sqlite3
import sys


def words(text):
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def edits(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)]


def reference(path):
    name = os.path.basename(path)
    if "/ravdess/" in path:
        return "kids are talking by the door" if name.split("-")[4] == "01" else "dogs are sitting by the door"
    if "/tess/" in path:
        return "say the word " + name.split("_")[1].lower()
    return None


def main():
    store = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/emokit/features.sqlite")
    db = sqlite3.connect(store)
    rows = db.execute("""SELECT DISTINCT s.path, t.text FROM transcripts t JOIN clip_sources s ON s.pcm_hash = t.pcm_hash
                         WHERE t.component_id = 'whisper-transcript'""").fetchall()
    out = {}
    for corpus in ["ravdess", "tess"]:
        errors = ref_words = exact = n = 0
        worst = []
        for path, text in rows:
            if "/%s/" % corpus not in path:
                continue
            ref = reference(path)
            e = edits(words(ref), words(text))
            errors += e
            ref_words += len(words(ref))
            exact += e == 0
            n += 1
            if e:
                worst.append((e, os.path.basename(path), text))
        worst.sort(reverse=True)
        out[corpus] = {"clips": n, "wer": errors / max(1, ref_words), "exact": exact / max(1, n),
                       "examples": [{"clip": c, "transcript": t, "errors": e} for e, c, t in worst[:5]]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
