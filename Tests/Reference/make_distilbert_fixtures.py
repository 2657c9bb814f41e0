#!/usr/bin/env python3
"""Reference outputs and weight gradients of a tiny random-weight DistilBertModel for the `bert` component
(Tests/TextEncodersTests/FineTuneTests.swift, `testTinyDistilBert...`).

Run from the repository root with the reference environment (Tests/Reference/requirements.txt):

    /work/refenv/bin/python Tests/Reference/make_distilbert_fixtures.py

Writes, under Tests/TextEncodersTests/Fixtures/:
  tiny-distilbert/           DistilBertModel as transformers saves it (config.json, model.safetensors; 2 layers, dim 32,
                             4 heads, hidden_dim 64, 40 positions, dropout 0.1, attention_dropout 0.1) with tiny-bert's
                             vocab.txt (the first 1000 WordPiece tokens of all-MiniLM-L6-v2).
  distilbert_gradients.json  one case in finetune_gradients.json's format: a padded batch of token ids, the masked-mean
                             pooled last hidden state, and d loss / d every parameter, loss = Σ pooled · R (R[b, k] =
                             sin(0.37 (b C + k) + 0.1)), evaluation mode, torch.autograd in float32. Gradients are keyed
                             by the equivalent BertModel names (`encoder.layer.{i}.attention.self.query.weight` for
                             `transformer.layer.{i}.attention.q_lin.weight`, ...), the names EmoKit's BERT network uses.

Deterministic: torch.manual_seed(2025) for the weights; ids from random.Random(6).
"""
import json
import os
import random
import shutil

import torch
import transformers
from transformers import DistilBertConfig, DistilBertModel

from make_finetune_fixtures import FIX, case, padded

RENAMES = [("attention.q_lin.", "attention.self.query."), ("attention.k_lin.", "attention.self.key."),
           ("attention.v_lin.", "attention.self.value."), ("attention.out_lin.", "attention.output.dense."),
           ("sa_layer_norm.", "attention.output.LayerNorm."), ("ffn.lin1.", "intermediate.dense."),
           ("ffn.lin2.", "output.dense."), ("output_layer_norm.", "output.LayerNorm.")]


def bert_name(name):
    if not name.startswith("transformer.layer."):
        return name
    _, _, i, rest = name.split(".", 3)
    for distil, bert in RENAMES:
        if rest.startswith(distil):
            return f"encoder.layer.{i}." + bert + rest[len(distil):]
    return name


def main():
    folder = os.path.join(FIX, "tiny-distilbert")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(FIX, "tiny-bert", "vocab.txt"), os.path.join(folder, "vocab.txt"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "DistilBertTokenizer"}, f)
    torch.manual_seed(2025)
    config = DistilBertConfig(vocab_size=1000, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=40,
                              dropout=0.1, attention_dropout=0.1, activation="gelu", pad_token_id=0)
    model = DistilBertModel(config)
    with torch.no_grad():  # larger than the 0.02 init, so every gradient is well above rounding
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(folder, safe_serialization=True)
    rng = random.Random(6)
    rows = [[101] + [rng.randrange(104, 1000) for _ in range(n)] + [102] for n in (5, 2, 8)]
    ids, mask = padded(rows, 0)
    c = case("tiny-distilbert", DistilBertModel.from_pretrained(folder), ids, mask, "mean", False)
    c["gradients"] = {bert_name(k): v for k, v in c["gradients"].items()}
    ref = {"source": f"make_distilbert_fixtures.py; torch {torch.__version__}, transformers {transformers.__version__}",
           "cases": [c]}
    with open(os.path.join(FIX, "distilbert_gradients.json"), "w") as f:
        json.dump(ref, f)
    print(c["name"], len(c["gradients"]), "parameters, loss", c["loss"])


if __name__ == "__main__":
    main()
