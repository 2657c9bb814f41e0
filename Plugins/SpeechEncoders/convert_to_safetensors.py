#!/usr/bin/env python3
"""Converts a Hugging Face checkpoint folder's pytorch_model.bin to model.safetensors (what EmoKit loads).

Usage: python3 Plugins/SpeechEncoders/convert_to_safetensors.py DIR
Needs torch and safetensors (`pip install torch safetensors`). Loads with `weights_only=True` (no arbitrary code
from the pickle), keeps the tensor names, writes DIR/model.safetensors; the .bin is left in place.
"""
import os
import sys

import torch
from safetensors.torch import save_file


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    src = os.path.join(folder, "pytorch_model.bin")
    dst = os.path.join(folder, "model.safetensors")
    if not os.path.exists(src):
        sys.exit(f"{src}: not found")
    state = torch.load(src, map_location="cpu", weights_only=True)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    tensors = {k: v.contiguous().clone() for k, v in state.items() if isinstance(v, torch.Tensor)}
    save_file(tensors, dst, metadata={"format": "pt", "converted_from": "pytorch_model.bin"})
    print(f"wrote {dst}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
