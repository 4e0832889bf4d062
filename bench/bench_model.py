"""The model the benchmarks run, and the same model as a PyTorch module.

bench_model_path() is models/genre.gmdl when it exists, else a stand-in of
the planned architecture (conv3x3 blocks 1->16->32->64->128, each with ReLU
and a 2x2 max-pool, input [1, 624, 96], global mean+max, dense 256->10,
softmax) with random weights, written once by the project's own writer.
Timing does not depend on the weights' values, only on the shapes.

torch_module(read_model(path)) builds an equivalent torch.nn.Sequential
with exactly the file's weights, so both engines compute the same function
(checked by ref_net.py against libgenre's output)."""

import os
import sys

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "train"))
import genre_model_file as gmf  # noqa: E402

SHIPPED = os.path.join(ROOT, "models", "genre.gmdl")
PLANNED_CHANNELS = [16, 32, 64, 128]
PLANNED_LABELS = ["blues", "classical", "country", "disco", "hiphop",
                  "jazz", "metal", "pop", "reggae", "rock"]


def write_planned_model(path, seed=1):
    rng = np.random.default_rng(seed)
    layers, in_c = [], 1
    for out_c in PLANNED_CHANNELS:
        # He-style scale keeps activations in a normal range through 4 blocks.
        w = rng.standard_normal((out_c, in_c, 3, 3)) * np.sqrt(2.0 / (9 * in_c))
        layers += [{"type": "conv2d", "weight": w.astype(np.float32),
                    "bias": (rng.standard_normal(out_c) * 0.1).astype(np.float32), "pad": (1, 1)},
                   {"type": "relu"}, {"type": "maxpool2d", "kernel": (2, 2)}]
        in_c = out_c
    layers += [{"type": "global_meanmax"},
               {"type": "dense", "weight": (rng.standard_normal((10, 2 * in_c)) * 0.1).astype(np.float32),
                "bias": np.zeros(10, np.float32)},
               {"type": "softmax"}]
    fe = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "window": "hann", "n_mels": 96,
          "fmin": 0.0, "fmax": 8000.0, "mel_scale": "slaney", "log_offset": 1e-3,
          "window_frames": 624, "norm_mean": np.full(96, -4.0, np.float32),
          "norm_std": np.full(96, 3.0, np.float32)}
    gmf.write_model(path, fe, PLANNED_LABELS, layers,
                    {"model": "benchmark stand-in (random weights, planned architecture)"})


def bench_model_path(workdir):
    """(path, description) of the model to benchmark."""
    if os.path.exists(SHIPPED):
        return SHIPPED, "models/genre.gmdl"
    path = os.path.join(workdir, "bench-planned.gmdl")
    if not os.path.exists(path):
        write_planned_model(path)
    return path, "stand-in of the planned architecture (models/genre.gmdl absent)"


def torch_module(model):
    """torch.nn.Sequential computing the model file's layers on [B, 1, T, F]."""
    import torch
    from torch import nn

    class GlobalMeanMax(nn.Module):
        def forward(self, x):
            return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)

    mods = []
    for layer in model["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            w = torch.from_numpy(np.ascontiguousarray(layer["weight"], dtype=np.float32))
            out_c, in_c, kh, kw = w.shape
            conv = nn.Conv2d(in_c, out_c, (kh, kw), padding=tuple(layer.get("pad", (0, 0))))
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(torch.from_numpy(np.asarray(layer["bias"], dtype=np.float32)))
            mods.append(conv)
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool2d":
            mods.append(nn.MaxPool2d(tuple(layer["kernel"])))
        elif kind == "global_meanmax":
            mods.append(GlobalMeanMax())
        elif kind == "dense":
            w = np.asarray(layer["weight"], dtype=np.float32)
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data.copy_(torch.from_numpy(w))
            lin.bias.data.copy_(torch.from_numpy(np.asarray(layer["bias"], dtype=np.float32)))
            mods.append(lin)
        elif kind == "softmax":
            mods.append(nn.Softmax(dim=1))
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    return nn.Sequential(*mods).eval()
