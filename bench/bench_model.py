"""The model the benchmarks run, and the same model as a PyTorch module.

bench_model_path() is models/genre.gmdl when it exists, else a stand-in of
the planned architecture (conv3x3 blocks 1->16->32->64->128, each with ReLU
and a 2x2 max-pool, input [1, 624, 96], global mean+max, dense 256->10,
softmax) with random weights, written once by the project's own writer.
Timing does not depend on the weights' values, only on the shapes.

torch_module(read_model(path)) (train/reference.py) builds an equivalent
torch module with exactly the file's weights, so both engines compute the
same function (checked by bench/run against libgenre's output before
timing).

    PYTHONPATH=. /usr/bin/python3 bench/bench_model.py --onnx MODEL OUT.onnx

exports that module with torch.onnx.export (TorchScript exporter, input
"frames" [1, 1, window_frames, n_mels], output "probs") for the ONNX
Runtime reference (bench/ref_onnx.js)."""

import os

import numpy as np

from train import genre_model_file as gmf  # from the repository root: bench/run, PYTHONPATH
from train.reference import GraphModule, torch_module  # noqa: F401  (re-exported for bench/)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

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


def export_onnx(model_path, out_path, opset=17):
    """The model's torch module as an ONNX file (TorchScript-based exporter)."""
    import torch
    model = gmf.read_model(model_path)
    fe = model["frontend"]
    net = torch_module(model)
    x = torch.zeros(1, 1, int(fe["window_frames"]), int(fe["n_mels"]))
    tmp = out_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(net, (x,), tmp, input_names=["frames"], output_names=["probs"],
                          opset_version=opset, do_constant_folding=True)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="export a model file's torch module to ONNX")
    ap.add_argument("--onnx", nargs=2, metavar=("MODEL", "OUT"), required=True)
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()
    export_onnx(a.onnx[0], a.onnx[1], a.opset)
