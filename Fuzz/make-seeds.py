#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/<target>/seed-* from the repository's fixtures, docs and ../shared/data.

Run from anywhere: `python3 Fuzz/make-seeds.py` (the torch.save seeds need a Python with torch, e.g.
`/work/refenv/bin/python Fuzz/make-seeds.py`; without torch they are skipped and the committed ones stay). The audio
seeds need the `ffmpeg` command for AIFF/FLAC/Ogg/CAF/W64/RF64/MP3 (skipped when absent). Seeds are small (a few KB):
real headers and tiny complete files, plus the hostile shapes the unit tests already know. Files a fuzzer run adds
(and the crash inputs kept as regression seeds, named crash-*) are left alone.
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
DATA = os.environ.get("EMO_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def read(path, limit=None):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read() if limit is None else f.read(limit)


# ---------------------------------------------------------------------------------------------- safetensors
def safetensors(header, data=b"", length=None):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, (bytes, str)) else (
        header.encode() if isinstance(header, str) else header)
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def seeds_safetensors():
    put("safetensors", "dtypes", read("Tests/EmoModelsTests/Fixtures/encoders/dtypes.safetensors"))
    f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)
    put("safetensors", "f32", safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                           "__metadata__": {"format": "pt"}}, f32))
    put("safetensors", "f16-bf16", safetensors({"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                                                "b": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]}},
                                               struct.pack("<4H", 0x3C00, 0x8001, 0x3F80, 0x7FC0)))
    put("safetensors", "scalar-empty", safetensors({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
                                                    "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}},
                                                   struct.pack("<f", 7.0)))
    put("safetensors", "i64", safetensors({"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)))
    put("safetensors", "empty-header", safetensors({}))
    put("safetensors", "lying-offsets", safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)))
    put("safetensors", "huge-shape", safetensors(
        '{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', bytes(8)))
    put("safetensors", "huge-length", safetensors("{}", length=1 << 62))
    # A real checkpoint's header (wav2vec2-base test model, 4.8 KB) over a cut data section.
    real = read("Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base/model.safetensors")
    n = struct.unpack("<Q", real[:8])[0]
    put("safetensors", "wav2vec2-header-cut", real[: 8 + n + 64])


# ---------------------------------------------------------------------------------------------- pickle / torch zip
def pickle_seeds_by_hand():
    def s(text):
        b = text.encode()
        return bytes([0x8C, len(b)]) + b

    def glob(module, name):
        return b"c" + (module + "\n" + name + "\n").encode()

    pid = b"(" + s("storage") + glob("torch", "FloatStorage") + s("0") + s("cpu") + bytes([0x4B, 4, 0x74, 0x51])
    tensor = lambda offset: glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + offset + bytes(
        [0x4B, 4, 0x85, 0x4B, 1, 0x85, 0x89, 0x74, 0x52])
    fine = b"\x80\x02}" + s("w") + tensor(bytes([0x4B, 0])) + b"s."
    huge = b"\x80\x02}" + s("w") + tensor(bytes([0x8A, 8, 0, 0, 0, 0, 0, 0, 0, 0x40])) + b"s."
    nested = b"\x80\x02)" + bytes([0x85]) * 200 + b"."
    return {"hand-fine": fine, "hand-huge-offset": huge, "hand-nested-200": nested}


def seeds_torch():
    pickles = pickle_seeds_by_hand()
    with zipfile.ZipFile(os.path.join(ROOT, "Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base-bin/pytorch_model.bin")) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        pickles["wav2vec2-base-bin"] = z.read(name)
    try:
        import torch
    except ImportError:
        torch = None
        print("torch not importable: the torch.save seeds are left as they are", file=sys.stderr)
    if torch is not None:
        g = torch.Generator().manual_seed(0)
        dicts = {
            "f32": {"w": torch.randn(2, 3, generator=g), "b": torch.zeros(2)},
            "f16": {"w": torch.randn(3, generator=g).half(), "v": torch.randn(2, 2, generator=g).half()[0]},
            "bf16-param": {"p": torch.nn.Parameter(torch.ones(2, dtype=torch.bfloat16)), "n": torch.tensor(5)},
            "shared-view": {"a": torch.arange(6.0)[2:], "t": torch.arange(4.0).reshape(2, 2)},
            "linear": torch.nn.Linear(3, 2).state_dict(),
        }
        for name, sd in dicts.items():
            for protocol in (2, 4):
                buf = io.BytesIO()
                torch.save(sd, buf, pickle_protocol=protocol)
                raw = buf.getvalue()
                put("torch-zip", f"{name}-p{protocol}", raw)
                with zipfile.ZipFile(io.BytesIO(raw)) as z:
                    pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
                    pickles[f"{name}-p{protocol}"] = z.read(pkl)
    for name, p in pickles.items():
        put("pickle", name, p)
    # Hand-made archives for the ZIP layer: the hand pickle in an archive, and a truncated and a no-EOCD one.
    def archive(entries):
        out, central = b"", b""
        for name, body in entries:
            n = name.encode()
            offset = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, len(body), len(body), len(n), 0) + n + body
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, len(body), len(body),
                                   len(n), 0, 0, 0, 0, 0, offset) + n
        return out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                                           len(out), 0)
    fine = archive([("archive/data.pkl", pickles["hand-fine"]), ("archive/data/0", bytes(16))])
    put("torch-zip", "hand-fine", fine)
    put("torch-zip", "hand-cut", fine[: len(fine) // 2])
    put("torch-zip", "hand-compressed", fine.replace(struct.pack("<IHHH", 0x02014B50, 20, 20, 0) + b"\0\0",
                                                     struct.pack("<IHHH", 0x02014B50, 20, 20, 0) + b"\x08\0", 1))


# ---------------------------------------------------------------------------------------------- registry
def seeds_registry():
    put("registry", "repo", read("registry.json"))
    put("registry", "pinned", json.dumps({"format": 1, "plugins": [
        {"library": "/opt/site/libAcme.so", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
        {"library": "../lib/./libB.so", "enabled": False}, {"library": "@host/libC.so", "enabled": True}]}))
    put("registry", "bad-pin", '{"format":1,"plugins":[{"library":"x.so","sha256":"ABC"}]}')
    put("registry", "format-2", '{"format":2,"plugins":[]}')
    put("registry", "not-object", '[{"library":"x.so"}]')
    put("registry", "probe-cache", json.dumps({"/opt/emokit/bin/libEmoPluginFusion.so": {
        "size": 123456, "mtime": 1700000000.5, "sha256": "0" * 64,
        "description": {"pluginID": "fusion", "pluginVersion": "0.1.0", "abiMajor": 1, "abiMinor": 2, "components": [
            {"kind": "fusion", "id": "early", "version": "1", "displayName": "Early fusion",
             "manifest": {"config": {"inputs": {"type": "array", "required": True}}, "trainable": True},
             "calls": ["forward", "backward", "params", "state"]}]}},
        "/opt/site/libCrash.so": {"size": 10, "mtime": 0, "sha256": "1" * 64, "errorCode": "probeCrashed",
                                  "errorArguments": ["/opt/site/libCrash.so", "signal 11"]}}, indent=1))


# ---------------------------------------------------------------------------------------------- manifests
def seeds_manifests():
    put("manifest-csv", "basic", "path,label,speaker,text,group,site\na.wav,happy,s1,\"hello, there\",g1,lab\n"
                                 "b.wav,sad,s2,,,\nmissing.wav,sad,s3,,,\n,angry,s4,,,\n")
    put("manifest-csv", "quote-unterminated", "path,label,text\na.wav,happy,\"fine\"\nb.wav,sad,\"never closed\nc.wav,angry,x\n")
    put("manifest-csv", "columns", "path,label,speaker\na.wav,happy,s1\nb.wav,sad\nc.wav,angry,s3,extra\n")
    put("manifest-csv", "tabs", "path\tlabel\ttext\na.wav\thappy\thello, there\nb.wav\tsad\t\n")
    put("manifest-csv", "crlf-bom", "\ufeffPath , LABEL,split,text_id\r\n/abs/x.flac,neutral,train,t1\r\n\"q\"\"x.wav\",calm,test,\r\n")
    put("manifest-csv", "multiline", "path,label,text\n\"a\nb.wav\",sad,\"multi\nline\"\n\n\nlast.wav,angry,\n")
    meld = os.path.join(DATA, "meld", "train_sent_emo.csv")
    if os.path.exists(meld):
        with open(meld, "rb") as f:
            lines = f.read().split(b"\n")
        put("manifest-csv", "meld-train-head", b"\n".join(lines[:12]) + b"\n")
    put("manifest-csv", "meld-bad-rows", "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID\n"
                                         "1,Hi,Joey,joy,positive,0,0\n2,Oh.,Ross,rage,negative,0,1\n3,x,,fear,,a,2\n4,short\n")
    put("manifest-jsonl", "basic", '{"path": "a.wav", "label": "happy", "speaker": 7}\n\nnot json\n{"path": "b.wav"}\n')
    put("manifest-jsonl", "types", '{"path":"/x/a.wav","label":"sad","text":"hi","split":"test","n":1.5,"b":true,'
                                   '"z":null,"arr":[1],"o":{"k":1},"big":1e300}\n{"PATH":"c.wav","Label":"calm"}\r\n')
    put("manifest-jsonl", "unicode", '{"path":"d\\u00e9j\\u00e0.wav","label":"\\ud83d\\ude00","group":"g"}\n[1,2]\n"s"\n')


# ---------------------------------------------------------------------------------------------- media
def wav_bytes(channels, width, rate, frames):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes((i * 37) % 256 for i in range(channels * width * frames)))
    return buf.getvalue()


def seeds_media():
    put("media", "wav-16bit-mono", wav_bytes(1, 2, 16000, 200))
    put("media", "wav-8bit-stereo", wav_bytes(2, 1, 8000, 100))
    put("media", "wav-24bit-44k", wav_bytes(1, 3, 44100, 100))
    # IEEE float WAV with a LIST chunk before the data chunk.
    data = struct.pack("<64f", *[((i % 16) - 8) / 8 for i in range(64)])
    fmt = struct.pack("<HHIIHH", 3, 1, 22050, 22050 * 4, 4, 32)
    lst = b"LIST" + struct.pack("<I", 5) + b"INFOx\0"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + lst + b"data" + struct.pack("<I", len(data)) + data
    put("media", "wav-float-list", b"RIFF" + struct.pack("<I", len(body)) + body)
    # A streaming writer's header (sizes 0xFFFFFFFF), and a header promising more audio than follows.
    put("media", "wav-streaming-size", wav_bytes(1, 2, 16000, 50)[:4] + b"\xff\xff\xff\xff" + wav_bytes(1, 2, 16000, 50)[8:40]
        + b"\xff\xff\xff\xff" + bytes(100))
    put("media", "wav-truncated", wav_bytes(1, 2, 16000, 1000)[:300])
    # The first 2 KB of a real RAVDESS and TESS recording (whatever container ../shared/data holds them in).
    for corpus, folder in (("ravdess", "ravdess/Actor_01"), ("tess", "tess")):
        path = os.path.join(DATA, folder)
        while os.path.isdir(path) and os.listdir(path):
            path = os.path.join(path, sorted(os.listdir(path))[0])
        if os.path.isfile(path):
            put("media", corpus + "-head", open(path, "rb").read(2048))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("ffmpeg not found: AIFF/FLAC/Ogg/CAF/W64/RF64/MP3 seeds are left as they are", file=sys.stderr)
        return
    tmp = tempfile.mkdtemp()
    outputs = {"aiff": ["-c:a", "pcm_s16be", "-f", "aiff"], "aifc": ["-c:a", "pcm_s16be", "-f", "aiff"],
               "flac": ["-c:a", "flac", "-f", "flac"], "ogg-vorbis": ["-c:a", "libvorbis", "-f", "ogg"],
               "caf": ["-c:a", "pcm_s16le", "-f", "caf"], "w64": ["-c:a", "pcm_s16le", "-f", "w64"],
               "rf64": ["-c:a", "pcm_s16le", "-rf64", "always", "-f", "wav"], "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
               "flac-stereo": ["-ac", "2", "-c:a", "flac", "-f", "flac"]}
    for name, args in outputs.items():
        out = os.path.join(tmp, name)
        cmd = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=0.03",
               "-bitexact", "-map_metadata", "-1"] + args + ["-y", out]
        if subprocess.run(cmd).returncode == 0 and os.path.getsize(out) <= 16384:
            put("media", name, open(out, "rb").read())
    shutil.rmtree(tmp)


# ---------------------------------------------------------------------------------------------- specs
def seeds_spec():
    folder = os.path.join(ROOT, "docs", "pipelines")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            put("spec", name[:-5], read(os.path.join("docs", "pipelines", name)))
    put("spec", "demo", read("Sources/emo/Demo/demo-pipeline.json"))
    demo = json.loads(read("Sources/emo/Demo/demo-pipeline.json"))
    demo["corpus"]["sources"] = [{"kind": "meld", "path": "${EMO_DATA}/meld",
                                  "options": {"meldClasses": 5, "checkFiles": False, "media": "${EMO_DATA}/meld/clips",
                                              "calm": "drop"}}, {"kind": "manifest", "path": "${X}/m.csv"}]
    demo["split"] = {"kind": "cross-corpus", "train": ["meld"], "test": ["manifest"], "validationFraction": 0.1}
    put("spec", "corpus-options", json.dumps(demo, indent=1))


# ---------------------------------------------------------------------------------------------- bundles, states
def emos(entries):
    out = b"EMOS" + struct.pack("<II", 1, len(entries))
    for name, values in entries:
        n = name.encode()
        out += struct.pack("<I", len(n)) + n + struct.pack("<Q", len(values)) + struct.pack("<%df" % len(values), *values)
    return out


def ustar(files):
    out = b""
    for name, body in files:
        h = bytearray(512)
        def field(s, at, width):
            b = s.encode()[:width]
            h[at:at + len(b)] = b
        field("bundle/" + name, 0, 100)
        field("%07o" % 0o644, 100, 8)
        field("%07o" % 0, 108, 8)
        field("%07o" % 0, 116, 8)
        field("%011o" % len(body), 124, 12)
        field("%011o" % 0, 136, 12)
        h[156] = ord("0")
        field("ustar", 257, 6)
        field("00", 263, 2)
        h[148:156] = b" " * 8
        field("%06o" % sum(h), 148, 6)
        h[154] = 0
        h[155] = 32
        out += bytes(h) + body + bytes((512 - len(body) % 512) % 512)
    return out + bytes(1024)


def seeds_bundle():
    manifest = read("Sources/emo/Demo/bundle/bundle.json")
    scaler = read("Sources/emo/Demo/bundle/scaler.json")
    fusion = read("Sources/emo/Demo/bundle/fusion.state")
    head = emos([("net.0.weight", [0.5, -0.5])])
    sep = b"\x1e"
    put("bundle", "demo", manifest + sep + scaler + sep + fusion + sep + head)
    # A small two-group bundle with a fine-tuned group's weights file and a per-speaker scaler.
    small = {"format": 1, "name": "tiny", "classes": ["a", "b"], "evaluation": "x", "testAccuracy": 0.5,
             "testMacroF1": 0.5, "labelMap": {"calm": "a"}, "audio": {"duration": 1.5, "alignment": "centre"},
             "fusion": {"component": "early", "config": {}}, "classifier": {"component": "mlp", "config": {"classes": 2}},
             "groups": [{"name": "g1", "component": "handcrafted", "version": "1", "config": {}, "featureNames": ["x", "y"]},
                        {"name": "g2", "component": "roberta", "version": "2", "config": {}, "featureNames": ["z"],
                         "input": "transcript", "textFrom": {"component": "whisper-tiny-en", "config": {}},
                         "weights": "encoder-g2.safetensors"}]}
    affine = {"shift": [0, 0, 0], "scale": [1, 2, 3]}
    small_scaler = {"spec": json.loads(scaler)["spec"], "layout": {"groups": [{"name": "g1", "width": 2}, {"name": "g2", "width": 1}]},
                    "imputationMeans": [0, 0, 0], "global": affine, "speakers": {"s1": affine}, "fittedRows": 3,
                    "fitImputation": {"rows": 3, "perFeature": [0, 0, 0]}}
    small_scaler["spec"]["perSpeaker"] = True
    put("bundle", "two-groups", json.dumps(small).encode() + sep + json.dumps(small_scaler).encode() + sep + fusion + sep + head)
    put("bundle", "missing-parts", manifest + sep + scaler)
    put("bundle-archive", "demo", ustar([("bundle.json", manifest), ("scaler.json", scaler), ("fusion.state", fusion),
                                         ("classifier.state", head)]))
    put("bundle-archive", "two-groups", ustar([("bundle.json", json.dumps(small).encode()),
                                               ("scaler.json", json.dumps(small_scaler).encode()),
                                               ("fusion.state", fusion), ("classifier.state", head),
                                               ("encoder-g2.safetensors", safetensors({}))]))
    put("bundle-archive", "no-end-blocks", ustar([("bundle.json", manifest)])[:-1024])
    good = [("w", [1, 2, 3, 4, 5, 6]), ("b", [0.5, -0.5])]
    put("state", "good", emos(good))
    put("state", "wrong-name", emos([("x", [1, 2, 3, 4, 5, 6]), ("b", [0.5, -0.5])]))
    put("state", "wrong-count", emos([("w", [1, 2, 3]), ("b", [0.5, -0.5])]))
    put("state", "trailing", emos(good) + b"\0")
    put("state", "truncated", emos(good)[:-3])
    put("state", "version-2", b"EMOS" + struct.pack("<II", 2, 2))
    put("state", "demo-head", read("Sources/emo/Demo/bundle/classifier.state", 512))


if __name__ == "__main__":
    seeds_safetensors()
    seeds_torch()
    seeds_registry()
    seeds_manifests()
    seeds_media()
    seeds_spec()
    seeds_bundle()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        print(f"{target}: {len(files)} files, {size} bytes")
