#!/usr/bin/env python3
"""Reference fixtures for Tests/TextEncodersTests (RoBERTa tokenizer and encoder parity with Hugging Face).

Run from the repository root with the reference environment:

    /work/refenv/bin/python Tests/Reference/make_text_fixtures.py

Writes, under Tests/TextEncodersTests/Fixtures/:
  tokenizer_cases.json   tricky strings + MELD utterances, encoded by HF's RobertaTokenizer built on the GPT-2
                         BPE files (../shared/data/bpe/gpt2) with RoBERTa's special tokens prepended
                         (<s>=0, <pad>=1, </s>=2, <unk>=3, GPT-2 id g -> g + 4, <mask> last).
                         Also truncation/padding cases (max_length, attention_mask).
  tiny-roberta/          a tiny random-weight RobertaModel as Hugging Face saves it (config.json, model.safetensors)
                         plus a tiny BPE vocabulary (vocab.json, merges.txt: the 256 byte symbols and the first
                         252 GPT-2 merges, same RoBERTa special-token layout).
  tiny_roberta_activations.json
                         texts, input_ids, attention_mask, every hidden state (embeddings + each layer),
                         CLS and masked-mean pooled outputs, from transformers with torch in float32.

`--all-meld OUT.json` instead writes every MELD utterance with HF's ids, for the opt-in full-corpus check
(EMO_MELD_TOKENS=OUT.json swift test --filter TokenizerTests).

Everything is seeded (torch.manual_seed(1234), random.Random(7)); rerunning gives the same files.
"""
import csv
import json
import os
import random
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "TextEncodersTests", "Fixtures")
DATA = os.path.join(ROOT, "..", "shared", "data")
GPT2 = os.path.join(DATA, "bpe", "gpt2")

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]

TRICKY = [
    "",
    " ",
    "   ",
    "Hello world",
    " Hello world",
    "Hello  world",
    "Hello   world  ",
    "hello\nworld\n\n",
    "tab\tseparated\t\tvalues",
    "I'm sure you'll love it, we've been told they'd come.",
    "I'M SURE YOU'LL... it's JOHN'S",
    "''quoted'' and 'single' quotes'",
    "don't won't can't shouldn't y'all",
    "Numbers: 1234567890, 3.14159, -42, 1e-5, 10,000,000 and 2024-01-01",
    "phone 555-1234 ext. 99",
    "Ünïcödé naïve café résumé über Straße",
    "日本語のテキストです。中文文本。한국어 텍스트",
    "Emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 ❤️",
    "Mixed\u00a0non-breaking\u00a0spaces and\u3000ideographic space",
    "line\u2028separator and zero\u200bwidth",
    "Ω≈ç√∫˜µ≤≥÷ ¡™£¢∞§¶•ªº–≠",
    "Punctuation!!! ??? ... --- ((())) [[]] {{}} <<>> @#$%^&*",
    "   leading and trailing   ",
    "Ａｂｃ fullwidth ＡＢＣ １２３",
    "Arabic: مرحبا بالعالم, Hebrew: שלום עולם",
    "Devanagari: नमस्ते दुनिया",
    "a\u0301 combining e\u0308 marks",
    "\x92 stray cp1252 byte and â\x80\x99 mojibake",
    "URL https://example.com/path?query=1&b=2#frag",
    "email someone@example.org",
    "camelCaseWordsAndSnake_case_words",
    "Oh my God! Oh my God! Oh my God!!!",
    "hello <mask> world",
    "<s>already</s> special",
    "Kids are talking by the door",
    "Dogs are sitting by the door",
    "Say the word back",
    "x" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "\u00e9\u0065\u0301",
]

TRUNCATION_CASES = [
    # (text, max_length, padding)
    ("Kids are talking by the door", 16, "max_length"),
    ("Oh my God! Oh my God! Oh my God!!! I can't believe it, Joey.", 8, "max_length"),
    ("", 6, "max_length"),
    ("Numbers: 1234567890, 3.14159, -42", 64, "max_length"),
    ("a b c d e f g h i j k l m n o p q r s t u v w x y z", 10, "do_not_pad"),
]


def roberta_vocab(gpt2_vocab):
    """GPT-2 ids shifted by 4 behind RoBERTa's special tokens, <mask> last."""
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for tok, i in gpt2_vocab.items():
        vocab[tok] = i + len(SPECIALS)
    vocab["<mask>"] = len(vocab)
    return vocab


def meld_utterances(n, rng):
    path = os.path.join(DATA, "meld", "train_sent_emo.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r["Utterance"] for r in csv.DictReader(f)]
    return rng.sample(rows, n)


def make_tokenizer_cases():
    with open(os.path.join(GPT2, "vocab.json"), encoding="utf-8") as f:
        gpt2_vocab = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        vpath = os.path.join(tmp, "vocab.json")
        with open(vpath, "w", encoding="utf-8") as f:
            json.dump(roberta_vocab(gpt2_vocab), f, ensure_ascii=False)
        tok = RobertaTokenizer(vocab=vpath, merges=os.path.join(GPT2, "merges.txt"))
    rng = random.Random(7)
    texts = TRICKY + meld_utterances(120, rng)
    cases = []
    for t in texts:
        enc = tok(t, add_special_tokens=True)
        ids = enc["input_ids"]
        cases.append({"text": t, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    trunc = []
    for text, max_length, padding in TRUNCATION_CASES:
        enc = tok(text, max_length=max_length, truncation=True, padding=padding)
        trunc.append({"text": text, "max_length": max_length, "padding": padding,
                      "ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    # Decoding: byte-level inverse, specials skipped.
    decode = []
    for t in texts[:60]:
        ids = tok(t)["input_ids"]
        decode.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=True,
                                                       clean_up_tokenization_spaces=False)})
    return {"source": "transformers.RobertaTokenizer %s on %s" % (transformers.__version__, "bpe/gpt2 + RoBERTa specials"),
            "cases": cases, "truncation": trunc, "decode": decode}


def write_tiny_vocab(folder):
    with open(os.path.join(GPT2, "vocab.json"), encoding="utf-8") as f:
        gpt2_vocab = json.load(f)
    inv = {i: t for t, i in gpt2_vocab.items()}
    with open(os.path.join(GPT2, "merges.txt"), encoding="utf-8") as f:
        merges = [l for l in f.read().split("\n")[1:] if l]
    n_merges = 252
    small = {inv[i]: i for i in range(256 + n_merges)}
    for i in range(n_merges):  # merge i produces GPT-2 id 256 + i
        assert inv[256 + i] == merges[i].replace(" ", "")
    vocab = roberta_vocab(small)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges[:n_merges]) + "\n")
    return len(vocab)


def make_tiny_model():
    folder = os.path.join(FIX, "tiny-roberta")
    os.makedirs(folder, exist_ok=True)
    vocab_size = write_tiny_vocab(folder)
    torch.manual_seed(1234)
    cfg = RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=72, type_vocab_size=1,
                        layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = RobertaModel(cfg, add_pooling_layer=True).eval()
    with torch.no_grad():  # larger-than-default weights so every layer changes its input visibly
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "LayerNorm.bias" in name or name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.save_pretrained(folder, safe_serialization=True)
    tok = RobertaTokenizer(vocab=os.path.join(folder, "vocab.json"), merges=os.path.join(folder, "merges.txt"))
    texts = ["Kids are talking by the door", "Oh my God!!! I can't believe it, Joey.",
             "Ünïcödé 123", "Say the word back " * 6]
    max_tokens = 24
    enc = tok(texts, max_length=max_tokens, truncation=True, padding="longest", return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    hs = torch.stack(out.hidden_states)  # [L+1, B, T, C]
    mask = enc["attention_mask"].unsqueeze(-1).float()
    last = out.last_hidden_state
    mean = (last * mask).sum(1) / mask.sum(1)
    grads = input_gradients(model, enc["input_ids"], enc["attention_mask"], cfg.pad_token_id)
    return {"gradients": grads,"config": {"max_tokens": max_tokens},
            "texts": texts,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "hidden_states_shape": list(hs.shape),
            "hidden_states": [round(float(x), 7) for x in hs.flatten().tolist()],
            "cls": [round(float(x), 7) for x in last[:, 0, :].flatten().tolist()],
            "mean": [round(float(x), 7) for x in mean.flatten().tolist()]}


def input_gradients(model, ids, mask, pad):
    """d(sum(pooled * R)) / d(word embeddings) through RobertaModel (inputs_embeds + RoBERTa's id-derived
    position_ids), for a few poolings, pooled layers and input scalings (Integrated Gradients evaluates the
    gradient at alpha * embeddings)."""
    not_pad = (ids != pad).long()
    position_ids = torch.cumsum(not_pad, dim=1) * not_pad + pad
    words = model.embeddings.word_embeddings(ids).detach()
    gen = torch.Generator().manual_seed(99)
    cases = []
    for pooling, layer, alpha in [("cls", 2, 1.0), ("mean", 2, 1.0), ("cls", 2, 0.5), ("mean", 1, 0.3)]:
        r = torch.randn(ids.shape[0], model.config.hidden_size, generator=gen)
        emb = (alpha * words).clone().requires_grad_(True)
        out = model(inputs_embeds=emb, attention_mask=mask, position_ids=position_ids, output_hidden_states=True)
        h = out.hidden_states[layer]
        if pooling == "cls":
            pooled = h[:, 0, :]
        else:
            m = mask.unsqueeze(-1).float()
            pooled = (h * m).sum(1) / m.sum(1)
        (grad,) = torch.autograd.grad((pooled * r).sum(), emb)
        cases.append({"pooling": pooling, "layer": layer, "alpha": alpha,
                      "pooled": [round(float(x), 7) for x in pooled.detach().flatten().tolist()],
                      "grad_output": [round(float(x), 7) for x in r.flatten().tolist()],
                      "grad_input": [float("%.7g" % x) for x in grad.flatten().tolist()]})
    return cases


def all_meld(out_path):
    """Every MELD utterance (train, dev, test) encoded by HF, for the opt-in full-corpus tokenizer check."""
    with open(os.path.join(GPT2, "vocab.json"), encoding="utf-8") as f:
        gpt2_vocab = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        vpath = os.path.join(tmp, "vocab.json")
        with open(vpath, "w", encoding="utf-8") as f:
            json.dump(roberta_vocab(gpt2_vocab), f, ensure_ascii=False)
        tok = RobertaTokenizer(vocab=vpath, merges=os.path.join(GPT2, "merges.txt"))
    texts = []
    for split in ("train", "dev", "test"):
        with open(os.path.join(DATA, "meld", "%s_sent_emo.csv" % split), newline="", encoding="utf-8") as f:
            texts += [r["Utterance"] for r in csv.DictReader(f)]
    ids = tok(texts)["input_ids"]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "ids": ids}, f, ensure_ascii=False)
    print("wrote", len(texts), "MELD utterances to", out_path)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--all-meld":
        return all_meld(sys.argv[2])
    print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__,
          "numpy", np.__version__)
    os.makedirs(FIX, exist_ok=True)
    cases = make_tokenizer_cases()
    with open(os.path.join(FIX, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    acts = make_tiny_model()
    with open(os.path.join(FIX, "tiny_roberta_activations.json"), "w", encoding="utf-8") as f:
        json.dump(acts, f)
    print("wrote", len(cases["cases"]), "tokenizer cases and tiny-roberta activations", acts["hidden_states_shape"])


if __name__ == "__main__":
    main()
