"""Run a model-file layer list (the dicts genre_model_file.write_model takes
and read_model returns) in plain NumPy, float64.  A third implementation
next to PyTorch and the C engine: export.py uses it to check BatchNorm
folding, the parity test to check the C engine."""

import numpy as np


def _conv2d(x, w, b, pad):
    c, h, wd = x.shape
    out_c, in_c, kh, kw = w.shape
    ph, pw = pad
    xp = np.zeros((c, h + 2 * ph, wd + 2 * pw))
    xp[:, ph:ph + h, pw:pw + wd] = x
    oh, ow = h + 2 * ph - kh + 1, wd + 2 * pw - kw + 1
    out = np.zeros((out_c, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + oh, j:j + ow].reshape(c, -1)  # [in_c, oh*ow]
            out += (w[:, :, i, j].astype(np.float64) @ patch).reshape(out_c, oh, ow)
    return out + b.astype(np.float64).reshape(-1, 1, 1)


def run_layers(layers, window):
    """window: [frames, n_mels] normalised; returns the last layer's output."""
    x = np.asarray(window, dtype=np.float64)[None]  # [1, T, F]
    for layer in layers:
        kind = layer["type"]
        if kind == "conv2d":
            x = _conv2d(x, layer["weight"], layer["bias"], layer.get("pad", (0, 0)))
        elif kind == "relu":
            x = np.maximum(x, 0.0)
        elif kind == "maxpool2d":
            kh, kw = layer["kernel"]
            c, h, w = x.shape
            oh, ow = h // kh, w // kw
            x = x[:, :oh * kh, :ow * kw].reshape(c, oh, kh, ow, kw).max(axis=(2, 4))
        elif kind == "global_meanmax":
            x = np.concatenate([x.mean(axis=(1, 2)), x.max(axis=(1, 2))])
        elif kind == "dense":
            x = layer["weight"].astype(np.float64) @ x.reshape(-1) + layer["bias"].astype(np.float64)
        elif kind == "softmax":
            e = np.exp(x - x.max())
            x = e / e.sum()
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    return x
