"""The C network against PyTorch: small CNNs (every layer type, conv with
padding, batch norm folded like the exporter does) with random weights are
written with train/genre_model_file.py, run by tests/net_eval on random
windows, and compared with torch.nn on the same input.
Pass: max abs difference of probabilities <= 1e-5.
Usage: test_net_torch.py SOURCE_ROOT NET_EVAL_EXE TMPDIR"""
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

from train import genre_model_file as gmf
from train.reference import GlobalMeanMax

source_root, net_eval, tmpdir = sys.argv[1:4]
ISAS = ("portable", "avx2", "avx512")

TOLERANCE = 1e-5
torch.manual_seed(1234)
torch.set_num_threads(1)
os.makedirs(tmpdir, exist_ok=True)


def folded_conv(conv, bn):
    """Conv weight/bias with an eval-mode BatchNorm folded in."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * scale[:, None, None, None]
    b = (conv.bias - bn.running_mean) * scale + bn.bias
    return w.detach().numpy(), b.detach().numpy()


def build(frames, n_mels, channels, n_labels):
    c1, c2, c3 = channels
    torch_layers = [nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(c1, c2, (3, 5), padding=(1, 2)), nn.BatchNorm2d(c2), nn.ReLU(),
                    nn.MaxPool2d((2, 3)),
                    nn.Conv2d(c2, c3, (2, 3), padding=(0, 1)), nn.ReLU(),
                    GlobalMeanMax(), nn.Linear(2 * c3, 16), nn.ReLU(), nn.Linear(16, n_labels),
                    nn.Softmax(dim=1)]
    net = nn.Sequential(*torch_layers)
    with torch.no_grad():   # non-trivial batch-norm statistics
        for m in net:
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    net.eval()
    t = torch_layers
    w0, b0 = folded_conv(t[0], t[1])
    w1, b1 = folded_conv(t[4], t[5])
    layers = [dict(type="conv2d", weight=w0, bias=b0, pad=(1, 1)), dict(type="relu"),
              dict(type="maxpool2d", kernel=(2, 2)),
              dict(type="conv2d", weight=w1, bias=b1, pad=(1, 2)), dict(type="relu"),
              dict(type="maxpool2d", kernel=(2, 3)),
              dict(type="conv2d", weight=t[8].weight.detach().numpy(),
                   bias=t[8].bias.detach().numpy(), pad=(0, 1)), dict(type="relu"),
              dict(type="global_meanmax"),
              dict(type="dense", weight=t[11].weight.detach().numpy(), bias=t[11].bias.detach().numpy()),
              dict(type="relu"),
              dict(type="dense", weight=t[13].weight.detach().numpy(), bias=t[13].bias.detach().numpy()),
              dict(type="softmax")]
    frontend = dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=n_mels, fmin=0.0,
                    fmax=8000.0, mel_scale="slaney", log_offset=1e-3, window_frames=frames,
                    norm_mean=np.zeros(n_mels, np.float32), norm_std=np.ones(n_mels, np.float32))
    labels = [f"g{i}" for i in range(n_labels)]
    return net, frontend, labels, layers


worst_all = 0.0
failed = False
for frames, n_mels, channels, n_labels, n_windows in [(37, 23, (5, 7, 6), 4, 6),
                                                      (624, 96, (16, 32, 32), 10, 3)]:
    net, frontend, labels, layers = build(frames, n_mels, channels, n_labels)
    path = os.path.join(tmpdir, f"torch_{frames}x{n_mels}.gmdl")
    gmf.write_model(path, frontend, labels, layers, {"test": "net_torch"})
    x = torch.randn(n_windows, 1, frames, n_mels) * 2
    x[0] = 0.0                         # a degenerate all-zero window too
    with torch.no_grad():
        expected = net(x).numpy().astype(np.float64)
    windows = os.path.join(tmpdir, f"torch_{frames}x{n_mels}.f32")
    x.numpy().astype("<f4").tofile(windows)
    # Every set of conv kernels this CPU runs (net_eval exits 77 for one it
    # cannot); the portable set runs everywhere.
    for isa in ISAS:
        out = subprocess.run([net_eval, "--isa", isa, path, windows], capture_output=True, text=True)
        if out.returncode == 77 and isa != "portable":
            print(f"{isa}: not on this CPU")
            continue
        if out.returncode != 0:
            print(f"net_eval --isa {isa} failed: {out.stderr.strip()}")
            failed = True
            continue
        got = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
        if got.shape != expected.shape:
            print(f"{frames}x{n_mels} {isa}: shape {got.shape}, expected {expected.shape}")
            failed = True
            continue
        worst = float(np.max(np.abs(got - expected)))
        worst_all = max(worst_all, worst)
        agree = np.mean(got.argmax(1) == expected.argmax(1))
        print(f"{frames}x{n_mels} channels {channels} {isa} kernels: {n_windows} windows, "
              f"max |p_C - p_torch| = {worst:.3g}, argmax agreement {agree:.0%}")
        if not worst <= TOLERANCE:
            failed = True

print(f"max abs difference {worst_all:.3g} (tolerance {TOLERANCE})")
sys.exit(1 if failed else 0)
