"""The model the benchmarks run, and the same model as a PyTorch module.

bench_model_path() is models/genre.gmdl when it exists, else a stand-in of
the planned architecture (conv3x3 blocks 1->16->32->64->128, each with ReLU
and a 2x2 max-pool, input [1, 624, 96], global mean+max, dense 256->10,
softmax) with random weights, written once by the project's own writer.
Timing does not depend on the weights' values, only on the shapes.

torch_module(read_model(path)) builds an equivalent torch module with
exactly the file's weights, so both engines compute the same function
(checked by bench/run against libgenre's output before timing): a
torch.nn.Sequential for a version-1 layer chain, a GraphModule for a
version-2 graph (one window computed from scratch, as genre_graph_run does).

    bench_model.py --onnx MODEL OUT.onnx

exports that module with torch.onnx.export (TorchScript exporter, input
"frames" [1, 1, window_frames, n_mels], output "probs") for the ONNX
Runtime reference (bench/ref_onnx.js)."""

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
    """A torch module computing the model file's network on [B, 1, T, F]."""
    if model.get("nodes"):
        return GraphModule(model["nodes"]).eval()
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
    import torch
    from torch import nn
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


def GraphModule(nodes):  # noqa: N802 (a class, built on first use so torch is imported lazily)
    return _graph_module_class()(nodes)


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
