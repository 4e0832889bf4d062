"""Export a training checkpoint (small_cnn.py's best.pt) as a genre model file.

  /usr/bin/python3 -m train.export runs/f4/best.pt models/genre.gmdl

BatchNorm is folded into the conv before it (w' = w*g/sqrt(var+eps),
b' = (b - mean)*g/sqrt(var+eps) + beta), dropout is dropped, a softmax is
appended; the front-end spec the features were made with, the training-set
normalisation and the provenance go into the file.  Before writing, the
folded layer list is run in NumPy and compared with the PyTorch model, so a
folding mistake cannot be shipped silently.
"""

import argparse
import datetime
import os
import sys

import numpy as np
import torch
from torch import nn

from .genre_arch import GlobalMeanMax, build_model
from .genre_data import command_line, sha256_file
from .genre_model_file import write_model
from .genre_numpy_net import run_layers

FRONTEND_KEYS = ("sample_rate", "n_fft", "hop", "window", "n_mels", "fmin", "fmax", "mel_scale",
                 "log_offset", "window_frames")


def fold_conv_bn(conv, bn):
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    w = w * scale.view(-1, 1, 1, 1)
    b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
    return w.float().numpy(), b.float().numpy()


def layers_from_model(model):
    """The C engine's layer list for a GenreCNN (eval mode)."""
    mods = list(model.net)
    layers = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d):
            if m.stride != (1, 1) or m.dilation != (1, 1) or m.groups != 1:
                raise SystemExit("error: only stride-1, undilated, ungrouped convs can be exported")
            if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                w, b = fold_conv_bn(m, mods[i + 1])
                i += 1
            else:
                w = m.weight.detach().float().numpy()
                b = (m.bias.detach().float().numpy() if m.bias is not None
                     else np.zeros(m.out_channels, dtype=np.float32))
            layers.append({"type": "conv2d", "weight": w, "bias": b, "pad": tuple(m.padding)})
        elif isinstance(m, nn.BatchNorm2d):
            raise SystemExit("error: a BatchNorm that does not follow a conv cannot be folded")
        elif isinstance(m, nn.ReLU):
            layers.append({"type": "relu"})
        elif isinstance(m, nn.MaxPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
            s = m.stride if isinstance(m.stride, tuple) else (m.stride, m.stride)
            if s != k or m.padding not in (0, (0, 0)) or m.ceil_mode:
                raise SystemExit("error: only max-pools with stride = kernel, no padding, floor mode can be exported")
            layers.append({"type": "maxpool2d", "kernel": tuple(int(v) for v in k)})
        elif isinstance(m, GlobalMeanMax):
            layers.append({"type": "global_meanmax"})
        elif isinstance(m, nn.Linear):
            layers.append({"type": "dense", "weight": m.weight.detach().float().numpy(),
                           "bias": m.bias.detach().float().numpy()})
        elif isinstance(m, nn.Dropout):
            pass  # identity at inference
        else:
            raise SystemExit(f"error: cannot export layer {type(m).__name__}")
        i += 1
    layers.append({"type": "softmax"})
    return layers


def load_checkpoint(path):
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as e:  # torch.load raises many kinds on a file that is not a checkpoint
        raise SystemExit(f"error: cannot read checkpoint {path}: {type(e).__name__}: {e}")
    if not isinstance(ckpt, dict):
        raise SystemExit(f"error: {path} is not a small_cnn.py checkpoint")
    for key in ("arch", "labels", "state_dict", "norm_mean", "norm_std", "spec"):
        if key not in ckpt:
            raise SystemExit(f"error: {path} is not a small_cnn.py checkpoint (no '{key}')")
    try:
        model = build_model(ckpt["arch"], len(ckpt["labels"]), ckpt.get("dropout", 0.3))
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, RuntimeError) as e:
        raise SystemExit(f"error: {path}: weights do not fit architecture {ckpt['arch']!r}: {e}")
    model.eval()
    return ckpt, model


def check_against_torch(model, layers, frames, n_mels, seed=0, tol=1e-4):
    """Max abs difference of the probabilities of the folded NumPy layers and
    the PyTorch model on two random normalised windows."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, frames, n_mels)).astype(np.float32)
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(x).unsqueeze(1)), dim=1).numpy()
    got = np.stack([run_layers(layers, xi) for xi in x])
    diff = float(np.abs(ref - got).max())
    if diff > tol:
        raise SystemExit(f"error: folded layers differ from the PyTorch model by {diff:g} (> {tol:g})")
    return diff


def main(argv=None):
    p = argparse.ArgumentParser(description="Export a small_cnn.py checkpoint as a genre model file (.gmdl).")
    p.add_argument("checkpoint", help="small_cnn.py checkpoint, e.g. runs/f4/best.pt")
    p.add_argument("output", help="model file to write, e.g. models/genre.gmdl")
    p.add_argument("--manifest", help="data manifest.csv the features came from (its sha256 goes into the "
                                      "provenance; default: the one named in spec.json, if any)")
    args = p.parse_args(argv)

    ckpt, model = load_checkpoint(args.checkpoint)
    spec = ckpt["spec"]
    missing = [k for k in FRONTEND_KEYS if k not in spec]
    if missing:
        raise SystemExit(f"error: the checkpoint's front-end spec lacks {', '.join(missing)}")
    frontend = {k: spec[k] for k in FRONTEND_KEYS}
    # genre-features names the window "hann_periodic"; the model file knows it as "hann" (periodic).
    if str(frontend["window"]).startswith("hann"):
        frontend["window"] = "hann"
    frontend["norm_mean"] = np.asarray(ckpt["norm_mean"], dtype=np.float32)
    frontend["norm_std"] = np.asarray(ckpt["norm_std"], dtype=np.float32)

    layers = layers_from_model(model)
    diff = check_against_torch(model, layers, int(spec["window_frames"]), int(spec["n_mels"]))

    manifest = args.manifest or spec.get("manifest")
    meta = {
        "model": f"genre CNN {ckpt['arch']}",
        "labels": ",".join(ckpt["labels"]),
        "arch": ckpt["arch"],
        "params": ckpt.get("params", ""),
        "mflop_per_window": f"{ckpt.get('flops', 0) / 1e6:.1f}",
        "training_commit": ckpt.get("git_commit", "unknown"),
        "training_command": ckpt.get("command", ""),
        "training_steps": ckpt.get("step", ""),
        "training_seconds": f"{ckpt.get('seconds', 0):.0f}",
        "features_index_sha256": ckpt.get("index_sha256", ""),
        "export_command": command_line(),
        "export_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "export_torch_vs_folded_max_abs_diff": f"{diff:.2g}",
    }
    if ckpt.get("bn_recalibration"):
        meta["bn_recalibration"] = ckpt["bn_recalibration"]
    if manifest:
        if not os.path.isfile(manifest):
            raise SystemExit(f"error: manifest {manifest} not found")
        meta["data_manifest"] = os.path.basename(manifest)
        meta["data_manifest_sha256"] = sha256_file(manifest)
    v = ckpt.get("valid")
    if v:
        meta["valid_window_acc"] = f"{v['window_acc']:.4f}"
        meta["valid_balanced_window_acc"] = f"{v['balanced_window_acc']:.4f}"
        meta["valid_clip_acc"] = f"{v['clip_acc']:.4f}"
        meta["valid_min_genre_recall"] = f"{v['min_genre_recall']:.4f}"
        meta["valid_windows"] = v["windows"]
        meta["valid_clips"] = v["clips"]
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    write_model(args.output, frontend, ckpt["labels"], layers, meta)
    print(f"wrote {args.output}: {len(ckpt['labels'])} labels, {len(layers)} layers, "
          f"torch vs folded max abs diff {diff:.2g}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
