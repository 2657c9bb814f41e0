#!/usr/bin/env python3
"""Peer side of the text-encoder benchmarks (`emo bench`): PyTorch / ctranslate2 timings and full-size outputs.

    bench_text_peer.py roberta --model DIR [--make] [--batch 32] [--tokens 64] [--repeat 5]
        With --make (or when DIR has no model.safetensors), writes a roberta-base-sized random-weight checkpoint
        (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 50265, 514 positions; torch.manual_seed(0), weights
        N(0, 0.02) as RobertaConfig initialises them) with RoBERTa-layout BPE files built from ../shared/data/bpe/gpt2.
        Then times RobertaModel on a [batch, tokens] batch of MELD utterances (padding to max_length, as Study B),
        and prints the CLS vectors of the first two rows so the Swift side can check full-size parity.
    bench_text_peer.py minilm --model DIR [--batch 32] [--tokens 12,64] [--repeat 5]
        Times sentence-transformers' all-MiniLM-L6-v2 embedding (BertModel forward, masked mean, L2 normalise; the
        tokenizer outside the timing) on [batch, tokens] batches of MELD test utterances padded to each length, and
        prints rows 0-1 of each embedding for the Swift side's parity check.
    bench_text_peer.py whisper --model CT2_DIR --clip FLAC [--repeat 3]
        Times ctranslate2's greedy Whisper transcription (float32, beam 1, no timestamps) of one clip, and its encoder
        alone on the clip's 30 s log-mel window (features computed outside the timing), with the encoder output's
        mean over the frames covering the real audio for the parity check.

The last stdout line is one JSON object ({"missing": "why"} when a dependency is absent).
"""
import argparse
import csv
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data")


def emit(obj):
    print(json.dumps(obj))
    sys.exit(0)


def make_roberta(folder):
    import torch
    from transformers import RobertaConfig, RobertaModel
    os.makedirs(folder, exist_ok=True)
    gpt2 = os.path.join(DATA, "bpe", "gpt2")
    with open(os.path.join(gpt2, "vocab.json"), encoding="utf-8") as f:
        g = json.load(f)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for tok, i in g.items():
        vocab[tok] = i + 4
    vocab["<mask>"] = len(vocab)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(gpt2, "merges.txt"), encoding="utf-8") as src, \
            open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2)
    RobertaModel(cfg, add_pooling_layer=True).eval().save_pretrained(folder, safe_serialization=True)


def meld_texts(n):
    with open(os.path.join(DATA, "meld", "test_sent_emo.csv"), newline="", encoding="utf-8") as f:
        rows = [r["Utterance"] for r in csv.DictReader(f)]
    return rows[:n]


def bench_roberta(args):
    try:
        import torch
        import transformers
        from transformers import RobertaModel, RobertaTokenizer
    except ImportError as e:
        emit({"missing": "torch/transformers not importable (%s)" % e})
    if args.make or not os.path.exists(os.path.join(args.model, "model.safetensors")):
        make_roberta(args.model)
    tok = RobertaTokenizer(vocab=os.path.join(args.model, "vocab.json"), merges=os.path.join(args.model, "merges.txt"))
    model = RobertaModel.from_pretrained(args.model).eval()
    texts = meld_texts(args.batch)
    enc = tok(texts, max_length=args.tokens, truncation=True, padding="max_length", return_tensors="pt")
    times = []
    with torch.inference_mode():
        model(**enc)  # warm-up
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = model(**enc)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    cls = out.last_hidden_state[:2, 0, :]
    emit({"peer": "transformers %s, torch %s" % (transformers.__version__, torch.__version__),
          "threads": torch.get_num_threads(), "batch": args.batch, "tokens": args.tokens,
          "ms_median": times[len(times) // 2], "ms_min": times[0],
          "texts": texts, "cls_rows_0_1": [float(x) for x in cls.flatten().tolist()]})


def bench_minilm(args):
    try:
        import torch
        import transformers
        from transformers import AutoTokenizer, BertModel
    except ImportError as e:
        emit({"missing": "torch/transformers not importable (%s)" % e})
    tok = AutoTokenizer.from_pretrained(args.model)
    model = BertModel.from_pretrained(args.model, add_pooling_layer=False).eval()
    texts = meld_texts(args.batch)
    rows = []
    for tokens in [int(t) for t in args.tokens.split(",")]:
        enc = tok(texts, max_length=tokens, truncation=True, padding="max_length", return_tensors="pt")

        def embed():
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)

        times = []
        with torch.inference_mode():
            embed()  # warm-up
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = embed()
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        rows.append({"tokens": tokens, "ms_median": times[len(times) // 2], "ms_min": times[0],
                     "rows_0_1": [float(x) for x in out[:2].flatten().tolist()]})
    emit({"peer": "transformers %s, torch %s" % (transformers.__version__, torch.__version__),
          "threads": torch.get_num_threads(), "batch": args.batch, "texts": texts, "lengths": rows})


def bench_whisper(args):
    try:
        import ctranslate2
        import numpy as np
        import soundfile
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from make_whisper_fixtures import BYTE_DECODER, log_mel
    except ImportError as e:
        emit({"missing": "ctranslate2/soundfile/torch/librosa not importable (%s)" % e})
    threads = len(os.sched_getaffinity(0))
    model = ctranslate2.models.Whisper(args.model, device="cpu", compute_type="float32", intra_threads=threads)
    vocab = [l.rstrip("\n") for l in open(os.path.join(args.model, "vocabulary.txt"), encoding="utf-8")]
    prompt = [vocab.index("<|startoftranscript|>"), vocab.index("<|notimestamps|>")]
    audio, sr = soundfile.read(args.clip, dtype="float32")
    times, ids = [], []
    for i in range(args.repeat + 1):
        t0 = time.perf_counter()
        mel = log_mel(audio)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        ids = model.generate(features, [prompt], beam_size=1)[0].sequences_ids[0]
        if i > 0:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    mel = log_mel(audio)
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
    enc_times = []
    for i in range(args.repeat + 1):
        t0 = time.perf_counter()
        encoded = model.encode(features, to_cpu=True)
        if i > 0:
            enc_times.append((time.perf_counter() - t0) * 1000)
    enc_times.sort()
    real = min(1500, max(1, -(-len(audio) // 320)))
    encoder_mean = np.array(encoded)[0, :real].mean(0)
    text = bytearray()
    for i in ids:
        if not vocab[i].startswith("<|"):
            text += bytes(BYTE_DECODER[c] for c in vocab[i])
    emit({"peer": "ctranslate2 %s (float32, %d intra threads)" % (ctranslate2.__version__, threads),
          "ms_median": times[len(times) // 2], "ms_min": times[0], "ids": ids,
          "encoder_ms_min": enc_times[0], "encoder_ms_median": enc_times[len(enc_times) // 2],
          "encoder_real_mean": [float(x) for x in encoder_mean],
          "text": text.decode("utf-8", "replace").strip()})


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("roberta")
    r.add_argument("--model", required=True)
    r.add_argument("--make", action="store_true")
    r.add_argument("--batch", type=int, default=32)
    r.add_argument("--tokens", type=int, default=64)
    r.add_argument("--repeat", type=int, default=5)
    m = sub.add_parser("minilm")
    m.add_argument("--model", required=True)
    m.add_argument("--batch", type=int, default=32)
    m.add_argument("--tokens", default="12,64")
    m.add_argument("--repeat", type=int, default=5)
    w = sub.add_parser("whisper")
    w.add_argument("--model", required=True)
    w.add_argument("--clip", required=True)
    w.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    print("python", sys.version.split()[0], file=sys.stderr)
    {"roberta": bench_roberta, "minilm": bench_minilm, "whisper": bench_whisper}[args.cmd](args)


if __name__ == "__main__":
    main()
