#!/usr/bin/env python3
"""Captum reference for token attribution through a text encoder (Tests/EmoPipelineTests/TokenExplainTests).

Chain (dimension legend: B batch, T tokens, C channels, K classes):
  ids [1, T] -> RobertaModel (the tiny random-weight fixture Tests/TextEncodersTests/Fixtures/tiny-roberta)
  -> last_hidden_state[:, 0] (the <s> token, the `roberta` plugin's `cls` pooling) [B, C]
  -> standard scaling of that group, (e - shift) / scale, with fixed-seed statistics
  -> concatenated after a fixed audio group [1, 4] (held constant: the other modality of a fused pipeline)
  -> Linear(4 + C, K) with fixed-seed weights -> softmax [B, K].

Attribution: Captum LayerIntegratedGradients on `embeddings.word_embeddings` (how the MELD study and Captum's
BERT tutorial attribute tokens), baseline ids <s> <pad> ... <pad> </s>, target = the argmax class,
gausslegendre and riemann_trapezoid, n_steps 24; per-token attribution = sum over C.

Writes Tests/EmoPipelineTests/Fixtures/tokens/token_explain.json.
Usage: /work/refenv/bin/python Tests/Reference/token_explain_reference.py
"""
import json
import os

import captum
import torch
import transformers
from captum.attr import LayerIntegratedGradients
from transformers import RobertaModel, RobertaTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHECKPOINT_REL = "Tests/TextEncodersTests/Fixtures/tiny-roberta"
CHECKPOINT = os.path.join(ROOT, CHECKPOINT_REL)
OUT = os.path.join(ROOT, "Tests/EmoPipelineTests/Fixtures/tokens/token_explain.json")
TEXT = "Oh my god, I can't believe it!"
CLASSES = 3
AUDIO = 4


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


class Chain(torch.nn.Module):
    def __init__(self, encoder, shift, scale, audio, head):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.shift, self.scale, self.audio = shift, scale, audio

    def forward(self, ids, mask, positions):  # ids [B, T]
        cls = self.encoder(input_ids=ids, attention_mask=mask,
                           position_ids=positions.expand(ids.shape[0], -1)).last_hidden_state[:, 0]  # [B, C]
        text = (cls - self.shift) / self.scale
        audio = self.audio.expand(ids.shape[0], -1)
        return torch.softmax(self.head(torch.cat([audio, text], dim=1)), dim=1)  # [B, K]


def main():
    torch.manual_seed(0)
    encoder = RobertaModel.from_pretrained(CHECKPOINT).eval()
    tokenizer = RobertaTokenizer.from_pretrained(CHECKPOINT)
    c = encoder.config.hidden_size
    g = torch.Generator().manual_seed(3)
    shift = 0.1 * torch.randn(c, generator=g)
    scale = 0.5 + torch.rand(c, generator=g)
    audio = torch.randn(1, AUDIO, generator=g)
    head = torch.nn.Linear(AUDIO + c, CLASSES)
    with torch.no_grad():
        head.weight.copy_(torch.randn(CLASSES, AUDIO + c, generator=g))
        head.bias.copy_(0.1 * torch.randn(CLASSES, generator=g))
    chain = Chain(encoder, shift, scale, audio, head).eval()

    enc = tokenizer(TEXT, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    t = ids.shape[1]
    ref = torch.full_like(ids, tokenizer.pad_token_id)
    ref[0, 0], ref[0, t - 1] = tokenizer.bos_token_id, tokenizer.eos_token_id
    # RoBERTa numbers positions from the ids (padding tokens get padding_idx), so the baseline's <pad> tokens would
    # also move position embeddings; the positions of the real ids are held for every point of the path, so only
    # the word embeddings vary (what the `roberta` plugin does when it is given word embeddings and the real ids).
    positions = (mask.cumsum(dim=1) * mask + encoder.config.pad_token_id).long()
    with torch.no_grad():
        probs = chain(ids, mask, positions)
        target = int(probs.argmax(1))
        f_x = float(probs[0, target])
        f_ref = float(chain(ref, mask, positions)[0, target])

    lig = LayerIntegratedGradients(lambda i: chain(i, mask.expand(i.shape[0], -1), positions),
                                   encoder.embeddings.word_embeddings)
    cases = []
    for method in ["gausslegendre", "riemann_trapezoid"]:
        attr, delta = lig.attribute(ids, baselines=ref, target=target, n_steps=24, method=method,
                                    return_convergence_delta=True)
        cases.append({"method": method, "n_steps": 24, "attributions": tensor_json(attr),
                      "per_token": flat(attr.sum(dim=-1)), "delta": flat(delta)})
    fixture = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "captum": captum.__version__},
        "checkpoint": CHECKPOINT_REL, "text": TEXT,
        "ids": [int(v) for v in ids[0]], "baseline_ids": [int(v) for v in ref[0]],
        "tokens": tokenizer.convert_ids_to_tokens(ids[0].tolist()),
        "shift": flat(shift), "scale": flat(scale), "audio": tensor_json(audio),
        "head": {"weight": tensor_json(head.weight), "bias": tensor_json(head.bias)},
        "target": target, "probabilities": flat(probs), "f_x": f_x, "f_baseline": f_ref,
        "ig": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, captum {captum.__version__}")
    print(f"wrote {OUT}: {t} tokens, target {target}, F(x) {f_x:.6f}, F(baseline) {f_ref:.6f}")
    for case in cases:
        print(f"  {case['method']}: sum {sum(case['per_token']):.6f} delta {case['delta']}")


if __name__ == "__main__":
    main()
