#!/usr/bin/env python3
"""Reference fixtures for the whisper-encoder on Hugging Face checkpoints (Tests/TextEncodersTests/WhisperEncoderTests).

    /work/refenv/bin/python Tests/Reference/make_whisper_hf_fixtures.py   (GRADIENTS_ONLY=1: only the gradients)

Writes, under Tests/TextEncodersTests/Fixtures/:
  tiny-whisper/            a random-weight transformers WhisperForConditionalGeneration in Whisper's layout
                           (80 mel bins, 1500 encoder positions, 448 decoder positions) but tiny: d_model 64,
                           2 encoder and 2 decoder layers, 4 heads, FFN 128, vocabulary 96; saved as float16
                           safetensors (so the fp16 path is exercised), config.json.
  tiny_whisper_gradients.json
                           torch autograd of (pooled · sin(0.31 k)) with respect to the samples of one clip, through
                           a differentiable torch copy of Whisper's log-mel and the encoder: 30 s window with mean
                           pooling, clip window with mean-std pooling and with hidden state 1 pooled; the gradient at
                           400 evenly spaced samples, its norm and largest magnitude.
  tiny_whisper_reference.json
                           for two real clips (../shared/data): WhisperFeatureExtractor's log-mel features (first
                           frames, mean) and the encoder's hidden states (output_hidden_states; the fp16 weights
                           computed in float32): per hidden state its mean over the ceil(S / 320) frames covering
                           the real audio, its first 3 frames, and its last real frame.

Seeded: torch.manual_seed(5). transformers' WhisperConfig initialises weights N(0, 0.02).
"""
import json
import os

import numpy as np
import soundfile
import torch
import transformers
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "TextEncodersTests", "Fixtures")
DATA = os.path.join(ROOT, "..", "shared", "data")
CLIPS = ["ravdess/Actor_01/03-01-01-01-01-01-01.flac", "tess/YAF_happy/YAF_dog_happy.flac"]


def r(t, digits=7):
    return [float("%.*g" % (digits, v)) for v in np.asarray(t, dtype=np.float64).flatten()]


def main():
    torch.manual_seed(5)
    cfg = WhisperConfig(vocab_size=96, num_mel_bins=80, d_model=64, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
                        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)
    folder = os.path.join(FIX, "tiny-whisper")
    WhisperForConditionalGeneration(cfg).eval().to(torch.float16).save_pretrained(folder, safe_serialization=True)
    for extra in ["generation_config.json"]:
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    model = WhisperForConditionalGeneration.from_pretrained(folder, torch_dtype=torch.float32).eval()
    fe = WhisperFeatureExtractor(feature_size=80)
    clips = []
    for rel in CLIPS:
        audio, sr = soundfile.read(os.path.join(DATA, rel), dtype="float32")
        assert sr == 16000
        feats = fe(audio, sampling_rate=16000, return_tensors="pt").input_features  # [1, 80, 3000]
        with torch.no_grad():
            out = model.model.encoder(feats, output_hidden_states=True)
        real = min(1500, max(1, -(-len(audio) // 320)))
        states = []
        for h in out.hidden_states:
            h = h[0]
            states.append({"real_mean": r(h[:real].mean(0)), "first_frames": r(h[:3]), "last_real_frame": r(h[real - 1])})
        clips.append({"clip": rel, "real_frames": real, "mel_first_frames": r(feats[0, :, :4].T, 6),
                      "mel_mean": float(feats.mean()), "hidden_states": states})
    with open(os.path.join(FIX, "tiny_whisper_reference.json"), "w") as f:
        json.dump({"source": "transformers %s, torch %s: WhisperForConditionalGeneration (random, fp16 on disk) encoder "
                             "in float32, WhisperFeatureExtractor" % (transformers.__version__, torch.__version__),
                   "clips": clips}, f)
    print("wrote tiny-whisper/ and tiny_whisper_reference.json")


def torch_log_mel(audio, frames=3000):
    """Whisper's log_mel_spectrogram in torch (differentiable): 30 s of zeros appended, first `frames` frames."""
    import librosa
    x = torch.cat([audio, torch.zeros(480000, dtype=audio.dtype)])
    stft = torch.stft(x, 400, 160, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
    mel = filters @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0)[:, :frames]


def encoder_states(enc, feats):
    """WhisperEncoder's forward written out (so fewer than 3000 frames are allowed, positions sliced)."""
    h = torch.nn.functional.gelu(enc.conv1(feats[None]))
    h = torch.nn.functional.gelu(enc.conv2(h)).permute(0, 2, 1)
    h = h + enc.embed_positions.weight[: h.shape[1]]
    states = [h]
    for layer in enc.layers:
        out = layer(h, attention_mask=None)
        h = out[0] if isinstance(out, tuple) else out
        states.append(h)
    states[-1] = enc.layer_norm(h)
    return states


def main_gradients():
    folder = os.path.join(FIX, "tiny-whisper")
    model = WhisperForConditionalGeneration.from_pretrained(folder, torch_dtype=torch.float32).eval()
    enc = model.model.encoder
    rel = CLIPS[0]
    audio_np, _ = soundfile.read(os.path.join(DATA, rel), dtype="float32")
    real = min(1500, max(1, -(-len(audio_np) // 320)))
    w = torch.tensor([np.sin(0.31 * k) for k in range(128)], dtype=torch.float32)
    cases = []
    for window, pooling in [("30s", "mean"), ("clip", "mean-std"), ("clip", "layer1")]:
        audio = torch.from_numpy(audio_np.copy()).requires_grad_(True)
        feats = torch_log_mel(audio, 3000 if window == "30s" else 2 * real)
        states = encoder_states(enc, feats)
        if window == "30s":  # the written-out forward is HF's encoder
            with torch.no_grad():
                ref = enc(feats[None], output_hidden_states=True).hidden_states
            assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(states, ref))
        last = states[-1][0, :real]
        if pooling == "mean":
            pooled = last.mean(0)
        elif pooling == "mean-std":
            pooled = torch.cat([last.mean(0), last.std(0, unbiased=False)])
        else:
            pooled = states[1][0, :real].mean(0)
        (pooled * w[: pooled.shape[0]]).sum().backward()
        g = audio.grad.numpy()
        idx = np.linspace(0, len(g) - 1, 400).astype(int)
        cases.append({"window": window, "pooling": pooling, "pooled": r(pooled.detach()), "indices": idx.tolist(),
                      "grad_at": r(g[idx]), "grad_norm": float(np.linalg.norm(g)), "grad_abs_max": float(np.abs(g).max())})
    with open(os.path.join(FIX, "tiny_whisper_gradients.json"), "w") as f:
        json.dump({"source": "torch %s autograd through Whisper's log-mel (torch.stft) and the tiny-whisper encoder; "
                             "loss = pooled · sin(0.31 k)" % torch.__version__, "clip": rel, "real_frames": real,
                   "cases": cases}, f)
    print("wrote tiny_whisper_gradients.json")


if __name__ == "__main__":
    if not os.environ.get("GRADIENTS_ONLY"):
        main()
    main_gradients()
