"""The reference implementations the tests and benchmarks compare libgenre
with, written from the documents alone, each in one place:

  * the log-mel front-end of doc/frontend.md in NumPy, float64
    (hz_to_mel, mel_to_hz, mel_matrix, periodic_hann, log_mel);
  * a model file's network as a PyTorch module (torch_module: a
    torch.nn.Sequential for a version-1 layer chain, a GraphModule for a
    version-2 graph, one window computed from scratch as genre_graph_run
    does), and the pooling layer they share with training (GlobalMeanMax).

The NumPy references run where torch is not installed."""
import math

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:     # the NumPy references need no torch
    torch = nn = None


# ---- the front-end (doc/frontend.md) ----------------------------------------------

def hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    return np.where(f < 1000.0, 3.0 * f / 200.0,
                    15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / (math.log(6.4) / 27.0))


def mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * math.log(6.4) / 27.0))


def mel_matrix(s):
    """W[b, k] per doc/frontend.md: triangles on M+2 mel-spaced edges, with
    peak 1 or (mel_norm "area") scaled by 2 / (f_right - f_left)."""
    m = s["n_mels"]
    edges_mel = np.linspace(hz_to_mel(s["fmin"], s["mel_scale"]), hz_to_mel(s["fmax"], s["mel_scale"]), m + 2)
    f = mel_to_hz(edges_mel, s["mel_scale"])
    fk = np.arange(s["n_fft"] // 2 + 1) * s["sample_rate"] / s["n_fft"]
    lo, mid, hi = f[:-2, None], f[1:-1, None], f[2:, None]
    up = (fk[None, :] - lo) / (mid - lo)
    down = (hi - fk[None, :]) / (hi - mid)
    height = 2.0 / (hi - lo) if s["mel_norm"] == "area" else 1.0
    return np.maximum(0.0, np.minimum(up, down)) * height


def periodic_hann(n):
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def log_mel(x, s, window=None, shift=0, dtype=np.float64, mel=None):
    """Returns (L, E): log-mel frames and mel power, [frames, n_mels], of
    the signal x from sample `shift` on.  Computed in dtype: float64 for
    the comparisons, float32 where the benchmark times NumPy at the
    precision libgenre works in.  mel: mel_matrix(s), when the caller
    keeps it across calls."""
    n_fft, hop = s["n_fft"], s["hop"]
    x = np.asarray(x, dtype=dtype)[shift:]
    n_frames = max(0, (len(x) - n_fft) // hop + 1)
    if n_frames == 0:
        return np.zeros((0, s["n_mels"]), dtype), np.zeros((0, s["n_mels"]), dtype)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    w = (periodic_hann(n_fft) if window is None else np.asarray(window)).astype(dtype)
    spectrum = np.fft.rfft(frames * w[None, :], axis=1)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    energy = power @ (mel_matrix(s) if mel is None else mel).astype(dtype).T
    return np.log(energy + dtype(s["log_offset"])), energy


# ---- networks as torch modules (doc/model-format.md) -------------------------------

if nn is not None:
    class GlobalMeanMax(nn.Module):
        """[B, C, H, W] -> [B, 2C]: per-channel means, then per-channel maxima
        (the same order as the C layer GENRE_LAYER_GLOBAL_MEANMAX)."""

        def forward(self, x):
            return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


def torch_module(model):
    """A torch module computing the model file's network on [B, 1, T, F]."""
    if model.get("nodes"):
        return GraphModule(model["nodes"]).eval()

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


def _graph_order(nodes):
    """Indices of the nodes in an order where every node follows its inputs
    (nodes may be listed in any order; the last one is the output)."""
    index = {nd["name"]: i for i, nd in enumerate(nodes)}
    order, state = [], {}

    def visit(i):
        if state.get(i) == 2:
            return
        if state.get(i) == 1:
            raise ValueError(f"node {nodes[i]['name']!r} is on a cycle")
        state[i] = 1
        for src in nodes[i]["inputs"]:
            if src != "input":
                visit(index[src])
        state[i] = 2
        order.append(i)

    visit(len(nodes) - 1)
    return order, index


def _graph_module_class():
    import torch.nn.functional as F

    class GraphModule(nn.Module):
        """A version-2 graph (doc/model-format.md, GRPH) as a torch module.

        Frames values are [B, C, T, F] (the file's [T][F][C] frames with the
        channels first, as torch convolves), vectors [B, C].  One call is one
        window computed from scratch: every conv2d's input is zero outside
        the window (pad_t frames before, kt - 1 - pad_t after) and outside
        the bins (pad_f each side), exactly as genre_graph_run."""

        def __init__(self, nodes):
            super().__init__()
            order, index = _graph_order(nodes)
            self.steps = []          # (kind, name, input names, params)
            self.params = nn.ParameterDict()
            for i in order:
                nd = nodes[i]
                kind, key = nd["type"], f"n{i}"
                extra = {}
                if kind in ("conv2d", "dense"):
                    w = torch.from_numpy(np.ascontiguousarray(nd["weight"], dtype=np.float32))
                    b = torch.from_numpy(np.ascontiguousarray(nd["bias"], dtype=np.float32))
                    self.params[key + "_w"] = nn.Parameter(w, requires_grad=False)
                    self.params[key + "_b"] = nn.Parameter(b, requires_grad=False)
                    if kind == "conv2d":
                        kt = w.shape[2]
                        pad_t, pad_f = int(nd["pad_t"]), int(nd["pad_f"])
                        extra = {"pad_t": pad_t, "pad_t_after": kt - 1 - pad_t, "pad_f": pad_f}
                elif kind == "affine":
                    sc = np.ascontiguousarray(nd["scale"], dtype=np.float32)
                    sh = np.ascontiguousarray(nd["shift"], dtype=np.float32)
                    self.params[key + "_s"] = nn.Parameter(torch.from_numpy(sc), requires_grad=False)
                    self.params[key + "_t"] = nn.Parameter(torch.from_numpy(sh), requires_grad=False)
                elif kind not in ("relu", "softmax", "sigmoid", "freq_max", "concat", "add",
                                  "time_maxmean"):
                    raise ValueError(f"node {nd['name']!r}: unknown node type {kind!r}")
                self.steps.append((kind, key, nd["name"], list(nd["inputs"]), extra))
            self.output = nodes[-1]["name"]
            # Values no later step reads can be dropped as soon as possible.
            last_use = {}
            for s, (_, _, _, inputs, _) in enumerate(self.steps):
                for src in inputs:
                    last_use[src] = s
            self.drop_after = [[src for src in set(inputs) if last_use[src] == s and src != self.output]
                               for s, (_, _, _, inputs, _) in enumerate(self.steps)]

        def forward(self, x):
            vals = {"input": x}
            for s, (kind, key, name, inputs, extra) in enumerate(self.steps):
                args = [vals[src] for src in inputs]
                a = args[0]
                if kind == "conv2d":
                    pt, pa, pf = extra["pad_t"], extra["pad_t_after"], extra["pad_f"]
                    w, b = self.params[key + "_w"], self.params[key + "_b"]
                    if pt == pa:        # symmetric: the conv pads by itself
                        y = F.conv2d(a, w, b, padding=(pt, pf))
                    else:
                        y = F.conv2d(F.pad(a, (pf, pf, pt, pa)), w, b)
                elif kind == "relu":
                    y = F.relu(a)
                elif kind == "affine":
                    sc, sh = self.params[key + "_s"], self.params[key + "_t"]
                    if a.dim() == 4:
                        y = a * sc.view(1, -1, 1, 1) + sh.view(1, -1, 1, 1)
                    else:
                        y = a * sc + sh
                elif kind == "freq_max":
                    y = a.amax(dim=3, keepdim=True)
                elif kind == "concat":
                    y = torch.cat(args, dim=1)
                elif kind == "add":
                    y = a + args[1]
                elif kind == "time_maxmean":
                    # [B, C, T, 1] -> [B, 2C]: (max_0, mean_0, max_1, mean_1, ...)
                    a = a.flatten(2)
                    y = torch.stack([a.amax(dim=2), a.mean(dim=2)], dim=2).flatten(1)
                elif kind == "dense":
                    y = F.linear(a, self.params[key + "_w"], self.params[key + "_b"])
                elif kind == "softmax":
                    y = torch.softmax(a, dim=1)
                else:  # sigmoid
                    y = torch.sigmoid(a)
                vals[name] = y
                for src in self.drop_after[s]:
                    del vals[src]
            return vals[self.output]

    return GraphModule


def GraphModule(nodes):  # noqa: N802 (a class, built on first use)
    return _graph_module_class()(nodes)
