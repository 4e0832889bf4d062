"""Writes the seed corpus of the model fuzz target: tiny but valid model
files (a few KiB) made by the project's own writer, train/genre_model_file.py,
covering every layer type, both mel scales, with an identity and a real normalisation,
odd label names and provenance text.  Tiny front-ends (16 frames x 8 mels)
keep each net run in the fuzzer well under a millisecond.
    /usr/bin/python3 fuzz/make_model_seeds.py OUTDIR"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import genre_model_file as gmf  # noqa: E402


def frontend(n_mels=8, frames=16, scale="slaney", norm=True):
    fe = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "window": "hann",
          "n_mels": n_mels, "fmin": 0.0, "fmax": 8000.0, "mel_scale": scale,
          "log_offset": 1e-3, "window_frames": frames}
    # Every model file carries normalisation; norm=False writes the identity.
    fe["norm_mean"] = np.linspace(-5, 0, n_mels).astype(np.float32) if norm else np.zeros(n_mels, np.float32)
    fe["norm_std"] = np.linspace(1, 2, n_mels).astype(np.float32) if norm else np.ones(n_mels, np.float32)
    return fe


def conv(rng, in_c, out_c, k=3, pad=1):
    return {"type": "conv2d", "weight": rng.standard_normal((out_c, in_c, k, k)).astype(np.float32) * 0.3,
            "bias": rng.standard_normal(out_c).astype(np.float32) * 0.1, "pad": (pad, pad)}


def dense(rng, n_in, n_out):
    return {"type": "dense", "weight": rng.standard_normal((n_out, n_in)).astype(np.float32) * 0.3,
            "bias": rng.standard_normal(n_out).astype(np.float32) * 0.1}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    labels3 = ["blues", "jazz", "metal"]
    cnn = [conv(rng, 1, 2), {"type": "relu"}, {"type": "maxpool2d", "kernel": (2, 2)},
           conv(rng, 2, 4), {"type": "relu"}, {"type": "maxpool2d", "kernel": (2, 2)},
           {"type": "global_meanmax"}, dense(rng, 8, 3), {"type": "softmax"}]
    seeds = {
        "cnn-norm.gmdl": (frontend(), labels3, cnn, {"arch": "seed", "trained": "never"}),
        "cnn-raw-htk.gmdl": (frontend(scale="htk", norm=False), labels3, cnn, {}),
        "cnn-nopad-hidden.gmdl": (
            frontend(n_mels=12, frames=20), ["a", "b"],
            [conv(rng, 1, 3, k=3, pad=0), {"type": "relu"}, {"type": "maxpool2d", "kernel": (3, 2)},
             {"type": "global_meanmax"}, dense(rng, 6, 4), {"type": "relu"}, dense(rng, 4, 2),
             {"type": "softmax"}],
            {"note": "no padding, a hidden dense layer", "empty": ""}),
        "meanmax-only.gmdl": (
            frontend(n_mels=4, frames=4), ["only"],
            [{"type": "global_meanmax"}, dense(rng, 2, 1), {"type": "softmax"}], {}),
        "utf8-labels.gmdl": (
            frontend(), ["música", "日本の", "r&b \"soul\"", "x" * 200],
            [conv(rng, 1, 1, k=1, pad=0), {"type": "global_meanmax"}, dense(rng, 2, 4),
             {"type": "softmax"}],
            {"trained": "2024-01-01", "data": "none\tat all"}),
    }
    for name, (fe, labels, layers, meta) in seeds.items():
        gmf.write_model(os.path.join(out, name), fe, labels, layers, meta)


if __name__ == "__main__":
    main()
