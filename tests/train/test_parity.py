#!/usr/bin/python3
"""Parity: the same weights through PyTorch and through libgenre (C, via
tests/support/net_eval) give the same probabilities, max abs difference <= 1e-4,
on windows of real audio features made by genre-features.

  --model random   a small randomly initialised network that uses every
                   layer type (conv with padding, BatchNorm -- folded by
                   export -- ReLU, max-pool, global mean+max, dense, softmax);
                   PyTorch runs the unfolded model, so folding is tested too.
  --model PATH     a model file (the shipped models/genre.gmdl): PyTorch runs
                   the layers read back from the file.
"""

import argparse
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import train_test_util as util  # noqa: E402
from train.export import layers_from_model  # noqa: E402
from train.genre_arch import GenreCNN  # noqa: E402
from train.genre_model_file import read_model, write_model  # noqa: E402
from train.reference import torch_module  # noqa: E402

TOLERANCE = 1e-4


def random_model(n_labels, seed=7):
    """Every layer type; BatchNorm with non-trivial statistics so folding matters."""
    torch.manual_seed(seed)
    model = GenreCNN(n_labels, channels=[4, 6, 8], pools=[(4, 3), (2, 2), (3, 2)], hidden=12, dropout=0.5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.2, 3.0)
            m.weight.data.uniform_(-1.5, 1.5)  # negative gammas too
            m.bias.data.uniform_(-0.5, 0.5)
        elif isinstance(m, nn.Linear):
            m.weight.data.mul_(8.0)  # confident outputs, so probabilities differ between windows
    return model.eval()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="'random' or a model file")
    p.add_argument("--net-eval", required=True)
    p.add_argument("--features-tool", required=True)
    p.add_argument("--data")
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    data = util.data_dir(args.data)
    work = util.fresh_dir(args.workdir)

    # One 30-s GTZAN clip of the shared data: real audio through the C front-end.
    rows = [r for r in util.manifest_rows(data) if r["source"] == "gtzan" and r["split"] == "valid"][:1]
    if not rows:
        util.fail("no gtzan valid clip in the manifest")
    _, feats = util.make_features(args.features_tool, data, rows, work)
    logmel = np.load(os.path.join(feats, "feat", "00000.npy"))

    if args.model == "random":
        labels = [f"genre{i}" for i in range(5)]
        spec_model = random_model(len(labels))
        frames, n_mels = 624, logmel.shape[1]
        mean, std = logmel.mean(0).astype(np.float32), (logmel.std(0) + 0.1).astype(np.float32)
        frontend = dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=n_mels, fmin=0.0, fmax=8000.0,
                        mel_scale="slaney", log_offset=1e-3, window_frames=frames, norm_mean=mean, norm_std=std)
        model_path = os.path.join(work, "random.gmdl")
        write_model(model_path, frontend, labels, layers_from_model(spec_model), {"purpose": "parity test"})
        layer_types = {l["type"] for l in read_model(model_path)["layers"]}
        expected = {"conv2d", "relu", "maxpool2d", "global_meanmax", "dense", "softmax"}
        if layer_types != expected:
            util.fail(f"random model does not use every layer type: {sorted(layer_types)}")
        reference = lambda x: torch.softmax(spec_model(x), dim=1)  # unfolded BatchNorm
    else:
        model_path = os.path.abspath(args.model)
        if not os.path.isfile(model_path):
            util.fail(f"model {model_path} not found")
        m = read_model(model_path)
        fe = m["frontend"]
        frames, mean, std = int(fe["window_frames"]), fe["norm_mean"], fe["norm_std"]
        if logmel.shape[1] != int(fe["n_mels"]):
            util.fail(f"model has {fe['n_mels']} mels, features {logmel.shape[1]}")
        reference = torch_module({"layers": m["layers"]})

    windows = util.real_windows(logmel, mean, std, frames)
    with torch.no_grad():
        ref = reference(torch.from_numpy(windows).unsqueeze(1)).double().numpy()
    got = util.net_eval_run(args.net_eval, model_path, windows, work)
    if got.shape != ref.shape:
        util.fail(f"C gave {got.shape} probabilities, PyTorch {ref.shape}")
    if np.abs(got.sum(1) - 1).max() > 1e-4:
        util.fail(f"C probabilities do not sum to 1: {got.sum(1)}")
    diff = float(np.abs(got - ref).max())
    print(f"{args.model}: {len(windows)} real-audio windows, max |p_torch - p_C| = {diff:.3g} (tolerance {TOLERANCE:g}); "
          f"max prob per window {np.round(ref.max(1), 3).tolist()}, largest difference between windows "
          f"{float(np.abs(ref - ref[0:1]).max()):.3g}")
    if diff > TOLERANCE:
        util.fail(f"PyTorch and libgenre differ by {diff:g} > {TOLERANCE:g}")
    # The windows must give probabilities that differ by well over the
    # tolerance, or an engine that ignored its input could pass.
    spread = float(np.abs(ref - ref[0:1]).max())
    if spread < 10 * TOLERANCE:
        util.fail(f"degenerate test: the windows' probabilities differ by only {spread:g}")
    if np.abs(got - got[0:1]).max() < 10 * TOLERANCE:
        util.fail("the C engine gives the same probabilities for different windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
