#!/usr/bin/python3
"""Round trip: what train/export.py writes is what the C loader reads, field
by field.  A checkpoint in small_cnn.py's format is made here (random weights,
random BatchNorm statistics, a non-ASCII label), exported by running
export.py, and every field tests/support/model_dump prints is compared with values
computed here independently: the front-end spec, the normalisation, the
labels, each layer's type and parameters, the BatchNorm-folded weights and
the provenance keys."""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import train_test_util as util  # noqa: E402
from train.genre_arch import build_model  # noqa: E402

LAYER_CODES = {"conv2d": 1, "relu": 2, "maxpool2d": 3, "global_meanmax": 4, "dense": 5, "softmax": 6}


def read_back(model_dump, path):
    """What the C loader read, through tests/support/model_dump (JSON with
    9 significant digits: every float32 reads back exactly)."""
    d = json.loads(util.run([model_dump, path]))
    f32 = lambda v: np.asarray(v, dtype=np.float32)  # noqa: E731
    info = dict(d["frontend"])
    info["norm_mean"], info["norm_std"] = f32(info["norm_mean"]), f32(info["norm_std"])
    for key in ("fmin", "fmax", "log_offset"):
        info[key] = float(np.float32(info[key]))
    info["labels"] = d["labels"]
    info["n_labels"], info["n_layers"] = len(d["labels"]), len(d["layers"])
    info["layers"] = [dict(l, **{k: f32(l[k]) for k in ("weight", "bias") if k in l})
                      for l in d["layers"]]
    info["meta"] = dict(line.split("=", 1) for line in d["meta"].splitlines() if "=" in line)
    return info


def expect_equal(what, got, want):
    if got != want:
        util.fail(f"{what}: C read {got!r}, export wrote {want!r}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model-dump", required=True)
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    work = util.fresh_dir(args.workdir)
    torch.manual_seed(3)
    rng = np.random.default_rng(3)

    labels = ["blues", "música", "zydeco"]
    model = build_model("tiny", len(labels), 0.3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.1, 4)
            m.weight.data.uniform_(-2, 2)
            m.bias.data.uniform_(-1, 1)
    spec = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "window": "hann_periodic", "n_mels": 96, "fmin": 0,
            "fmax": 8000, "mel_scale": "slaney", "log_offset": 0.001, "window_frames": 624}
    mean = rng.normal(-4, 2, 96).astype(np.float32)
    std = rng.uniform(0.5, 3, 96).astype(np.float32)
    valid = {"window_acc": 0.5, "balanced_window_acc": 0.4, "clip_acc": 0.6, "min_genre_recall": 0.1,
             "windows": 10, "clips": 4}
    ckpt = {"arch": "tiny", "labels": labels, "dropout": 0.3, "state_dict": model.state_dict(),
            "norm_mean": mean, "norm_std": std, "spec": spec, "git_commit": "0123abcd", "command": "train.py test",
            "step": 42, "seconds": 12.5, "valid": valid, "index_sha256": "f" * 64, "params": 1, "flops": 2e6}
    ckpt_path = os.path.join(work, "ckpt.pt")
    torch.save(ckpt, ckpt_path)
    manifest = os.path.join(work, "manifest.csv")
    with open(manifest, "w") as f:
        f.write("file,label,split\na.wav,blues,train\n")
    model_path = os.path.join(work, "model.gmdl")
    util.run([sys.executable, "-m", "train.export", ckpt_path, model_path,
              "--manifest", manifest])

    info = read_back(args.model_dump, model_path)
    # Front-end.
    for key in ("sample_rate", "n_fft", "hop", "n_mels", "window_frames"):
        expect_equal(key, info[key], spec[key])
    expect_equal("window", info["window"], 1)
    expect_equal("mel_scale", info["mel_scale"], 1)
    for key in ("fmin", "fmax", "log_offset"):
        expect_equal(key, info[key], float(np.float32(spec[key])))
    if not (np.array_equal(info["norm_mean"], mean) and np.array_equal(info["norm_std"], std)):
        util.fail("normalisation mean/std differ")
    expect_equal("label count", info["n_labels"], len(labels))
    expect_equal("labels", info["labels"], labels)

    # Layers, with BatchNorm folded here independently (float64, then float32).
    want = []
    mods = list(model.eval().net)
    for i, m in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            bn = mods[i + 1]
            g = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
            w = m.weight.detach().double().numpy() * g[:, None, None, None]
            b = (0.0 - bn.running_mean.double().numpy()) * g + bn.bias.detach().double().numpy()
            want.append(("conv2d", [m.in_channels, m.out_channels, 3, 3, 1, 1], w.astype(np.float32), b.astype(np.float32)))
        elif isinstance(m, nn.ReLU):
            want.append(("relu", [0] * 6, None, None))
        elif isinstance(m, nn.MaxPool2d):
            want.append(("maxpool2d", list(m.kernel_size) + [0] * 4, None, None))
        elif isinstance(m, nn.Module) and type(m).__name__ == "GlobalMeanMax":
            want.append(("global_meanmax", [0] * 6, None, None))
        elif isinstance(m, nn.Linear):
            want.append(("dense", [m.in_features, m.out_features, 0, 0, 0, 0],
                         m.weight.detach().numpy(), m.bias.detach().numpy()))
    want.append(("softmax", [0] * 6, None, None))
    expect_equal("layer count", info["n_layers"], len(want))
    expect_equal("layer records", len(info["layers"]), len(want))
    for i, (kind, params, w, b) in enumerate(want):
        got = info["layers"][i]
        expect_equal(f"layer {i} type", got["type"], LAYER_CODES[kind])
        expect_equal(f"layer {i} params", got["p"], params)
        if w is None:
            if "weight" in got or "bias" in got:
                util.fail(f"layer {i} ({kind}) has weights in C")
            continue
        if got["weight"].size != w.size or got["bias"].size != b.size:
            util.fail(f"layer {i} ({kind}): weight/bias sizes {got['weight'].size}/{got['bias'].size}, want {w.size}/{b.size}")
        dw = np.abs(got["weight"] - w.reshape(-1)).max()
        db = np.abs(got["bias"] - b).max()
        if dw > 1e-6 or db > 1e-6:
            util.fail(f"layer {i} ({kind}): weights differ by {dw:g}, biases by {db:g}")

    # Provenance.
    meta = info.get("meta", {})
    sha = hashlib.sha256(open(manifest, "rb").read()).hexdigest()
    expect_equal("meta data_manifest_sha256", meta.get("data_manifest_sha256"), sha)
    expect_equal("meta training_commit", meta.get("training_commit"), "0123abcd")
    expect_equal("meta training_steps", meta.get("training_steps"), "42")
    expect_equal("meta valid_balanced_window_acc", meta.get("valid_balanced_window_acc"), "0.4000")
    for key in ("export_date", "training_command", "features_index_sha256", "arch"):
        if not meta.get(key):
            util.fail(f"meta has no {key}")
    print(f"round trip OK: {len(want)} layers, {len(labels)} labels, {len(meta)} meta keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
