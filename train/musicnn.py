"""musicnn (Pons & Serra 2019) in PyTorch, loaded from the Keras HDF5 files
in ../shared/pretrained/musicnn/ with our own reader (h5py only).

The network, read from the file's model_config and weight shapes (every
fact checked by `load_keras_weights`, which refuses a file that differs):

  input [B, T, 96] log10(1 + 1e4 * mel power)   (time-major, like our frames)
  input batch norm (1 channel)
  front-end, five branches on the normalised input, each conv -> ReLU ->
  batch norm -> max over the whole frequency axis:
      timbral  7x38 (204 filters), 7x67 (204 filters): time padding 3/3
      temporal 128x1, 64x1, 32x1 (51 filters each): "same" time padding,
               TensorFlow's (the odd extra zero goes after)
  concat -> 561 channels per frame
  mid-end: three 1-D convs over time, kernel 7, 64 filters, each ReLU ->
      batch norm; the 2nd and 3rd add their input (residual)
  concat [front-end, mid1, mid2, mid3] -> 753 channels per frame
  back-end: max and mean over time, interleaved per channel (max0, mean0,
      max1, ...) -> 1506, batch norm, dense 200 + ReLU, batch norm
      ("penultimate"), dense 50 + sigmoid

Every batch norm uses epsilon 1e-3 (Keras).  Batch norms follow the ReLU,
so they cannot be folded into the conv before them; export writes them as
per-channel affine layers (scale, shift).

Attribution (ISC licence, must travel with derived models): weights trained
by Jordi Pons (jordipons/musicnn), converted to Keras HDF5 by Elio Quinton
(Quint-e/musicnn_keras, commit ad6cfb8).
"""

import json
import os

import numpy as np
import torch
from torch import nn

ATTRIBUTION = ("musicnn weights (c) Jordi Pons, jordipons/musicnn, ISC licence; "
               "Keras conversion by Elio Quinton, Quint-e/musicnn_keras ad6cfb8, ISC licence")
KERAS_BN_EPS = 1e-3
N_MELS = 96
FRONTEND_CHANNELS = 561
MIDEND_CHANNELS = 64
POOLED_CHANNELS = FRONTEND_CHANNELS + 3 * MIDEND_CHANNELS   # 753

MSD_TAGS = ["rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance",
            "00s", "alternative rock", "jazz", "beautiful", "metal", "chillout",
            "male vocalists", "classic rock", "soul", "indie rock", "Mellow", "electronica",
            "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues",
            "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar",
            "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk",
            "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
            "House", "happy"]
MTT_TAGS = ["guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
            "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian",
            "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet",
            "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
            "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
            "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice",
            "choral"]

# The front-end musicnn was trained with, as our front-end spec (doc/frontend.md):
# log10(1 + 1e4 E) = (ln(E + 1e-4) - (-ln 1e4)) / ln 10.
FRONTEND_SPEC = dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=N_MELS,
                     fmin=0.0, fmax=8000.0, mel_scale="slaney", mel_norm="area",
                     log_offset=1e-4)
LOG10_MEAN = -float(np.log(1e4))
LOG10_STD = float(np.log(10.0))

# (branch name, Keras conv layer, Keras bn layer, kernel (time, freq), filters)
FRONT_BRANCHES = [("timbral74", "conv2d", "batch_normalization_1", (7, 38), 204),
                  ("timbral77", "conv2d_1", "batch_normalization_2", (7, 67), 204),
                  ("temporal128", "conv2d_2", "batch_normalization_3", (128, 1), 51),
                  ("temporal64", "conv2d_3", "batch_normalization_4", (64, 1), 51),
                  ("temporal32", "conv2d_4", "batch_normalization_5", (32, 1), 51)]


class HDF5Error(ValueError):
    """A pretrained-weights file that is missing, unreadable or not musicnn."""


def same_time_padding(k):
    """TensorFlow's "same": k-1 zeros in all, the extra one after."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


class Affine(nn.Module):
    """Per-channel y = x * scale + shift on dimension 1 (a frozen batch norm,
    or a trainable one when `batchnorm` is used instead)."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shape = [1, -1] + [1] * (x.dim() - 2)
        return x * self.scale.view(shape) + self.shift.view(shape)


def make_bn(channels, dims):
    bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims](channels, eps=KERAS_BN_EPS, momentum=0.01)
    return bn


class FrontBranch(nn.Module):
    """conv (time x freq) -> ReLU -> BN -> max over frequency: [B,1,T,F] -> [B,C,T]."""

    def __init__(self, kernel, filters):
        super().__init__()
        self.kernel = kernel
        self.pad = same_time_padding(kernel[0])
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = make_bn(filters, 2)

    def forward(self, x):
        x = nn.functional.pad(x, (0, 0, self.pad[0], self.pad[1]))
        return self.bn(torch.relu(self.conv(x))).amax(dim=3)


class FrontEnd(nn.Module):
    """Normalised log-mel [B, T, 96] -> [B, 561, T]."""

    def __init__(self):
        super().__init__()
        self.input_bn = make_bn(1, 2)
        self.branches = nn.ModuleList(FrontBranch(k, f) for _, _, _, k, f in FRONT_BRANCHES)

    def forward(self, x):
        x = self.input_bn(x.unsqueeze(1))
        return torch.cat([b(x) for b in self.branches], dim=1)


class MidEnd(nn.Module):
    """[B, 561, T] -> [B, 753, T]: the front-end output and three conv outputs."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(FRONTEND_CHANNELS, MIDEND_CHANNELS, 7, padding=3),
                                    nn.Conv1d(MIDEND_CHANNELS, MIDEND_CHANNELS, 7, padding=3),
                                    nn.Conv1d(MIDEND_CHANNELS, MIDEND_CHANNELS, 7, padding=3)])
        self.bns = nn.ModuleList(make_bn(MIDEND_CHANNELS, 1) for _ in range(3))

    def forward(self, x):
        m1 = self.bns[0](torch.relu(self.convs[0](x)))
        m2 = self.bns[1](torch.relu(self.convs[1](m1))) + m1
        m3 = self.bns[2](torch.relu(self.convs[2](m2))) + m2
        return torch.cat([x, m1, m2, m3], dim=1)


def time_maxmean(x):
    """[B, C, T] -> [B, 2C] interleaved (max_0, mean_0, max_1, mean_1, ...)."""
    return torch.stack([x.amax(dim=2), x.mean(dim=2)], dim=2).flatten(1)


class BackEnd(nn.Module):
    """Pooled [B, 1506] -> logits [B, n_out] (penultimate 200 on request)."""

    def __init__(self, n_out, dropout=0.5):
        super().__init__()
        self.bn_pool = make_bn(2 * POOLED_CHANNELS, 1)
        self.dense = nn.Linear(2 * POOLED_CHANNELS, 200)
        self.bn_dense = make_bn(200, 1)
        self.out = nn.Linear(200, n_out)
        self.dropout = nn.Dropout(dropout)

    def forward(self, pooled, penultimate=False):
        h = self.bn_dense(torch.relu(self.dense(self.dropout(self.bn_pool(pooled)))))
        if penultimate:
            return h
        return self.out(self.dropout(h))


class MusiCNN(nn.Module):
    """The whole network on a window computed from scratch (zero padding at
    its edges), as Keras ran it: [B, T, 96] -> logits [B, n_out]."""

    def __init__(self, n_out=50):
        super().__init__()
        self.front = FrontEnd()
        self.mid = MidEnd()
        self.back = BackEnd(n_out)

    def forward(self, x):
        return self.back(time_maxmean(self.mid(self.front(x))))


def _dataset(group, layer, names, shape):
    """The one dataset of `layer` whose name starts with one of `names`,
    checked against `shape`."""
    try:
        inner = group[layer][layer]
    except KeyError:
        raise HDF5Error(f"no weights for layer {layer!r}") from None
    found = [k for k in inner.keys() if k.split(":")[0].rstrip("_0123456789") in names
             or k.split(":")[0] in names]
    if len(found) != 1:
        raise HDF5Error(f"layer {layer!r}: expected one of {names}, found {list(inner.keys())}")
    data = np.asarray(inner[found[0]], dtype=np.float32)
    if tuple(data.shape) != tuple(shape):
        raise HDF5Error(f"layer {layer!r} {found[0]}: shape {data.shape}, expected {shape}")
    if not np.all(np.isfinite(data)):
        raise HDF5Error(f"layer {layer!r} {found[0]}: NaN or infinity")
    return data


def _load_bn(module, group, layer, channels):
    gamma = _dataset(group, layer, ("gamma",), (channels,))
    beta = _dataset(group, layer, ("beta",), (channels,))
    mean = _dataset(group, layer, ("moving_mean",), (channels,))
    var = _dataset(group, layer, ("moving_variance",), (channels,))
    if np.any(var < 0):
        raise HDF5Error(f"layer {layer!r}: negative moving variance")
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(gamma))
        module.bias.copy_(torch.from_numpy(beta))
        module.running_mean.copy_(torch.from_numpy(mean))
        module.running_var.copy_(torch.from_numpy(var))


def _load_conv(module, group, layer, keras_shape):
    kernel = _dataset(group, layer, ("kernel",), keras_shape)
    bias = _dataset(group, layer, ("bias",), (keras_shape[-1],))
    if module.weight.dim() == 4:
        w = kernel.transpose(3, 2, 0, 1)                 # (kh, kw, in, out) -> (out, in, kh, kw)
    else:
        w = kernel[:, :, 0, :].transpose(2, 1, 0)         # (k, in, 1, out) -> (out, in, k)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        module.bias.copy_(torch.from_numpy(bias))


def _check_config(f, path):
    """The graph in the file's model_config is the one this module builds."""
    try:
        config = json.loads(f.attrs["model_config"])
        layers = {L["name"]: L for L in config["config"]["layers"]}
    except (KeyError, ValueError, TypeError) as e:
        raise HDF5Error(f"{path}: no readable Keras model_config ({e})") from None
    expect = {"input_1": "InputLayer", "midend_conv1": "Conv2D", "bn_flatpool": "BatchNormalization",
              "dense": "Dense", "dense_1": "Dense", "activation": "Activation"}
    for name, cls in expect.items():
        if layers.get(name, {}).get("class_name") != cls:
            raise HDF5Error(f"{path}: layer {name!r} is not a {cls}: not a musicnn file")
    for branch, conv, bn, kernel, filters in FRONT_BRANCHES:
        c = layers.get(conv, {}).get("config", {})
        if tuple(c.get("kernel_size", ())) != kernel or c.get("filters") != filters \
                or c.get("activation") != "relu":
            raise HDF5Error(f"{path}: {conv} is not the {branch} branch ({c.get('kernel_size')})")
        if layers[bn]["inbound_nodes"][0][0][0] != conv:
            raise HDF5Error(f"{path}: {bn} does not follow {conv}")
        if layers[bn]["config"]["epsilon"] != KERAS_BN_EPS:
            raise HDF5Error(f"{path}: {bn} epsilon is not {KERAS_BN_EPS}")
    concat = [n[0] for n in layers["tf_op_layer_concat"]["inbound_nodes"][0]]
    pools = [layers[layers[s]["inbound_nodes"][0][0][0]]["inbound_nodes"][0][0][0] for s in concat]
    if pools != [bn for _, _, bn, _, _ in FRONT_BRANCHES]:
        raise HDF5Error(f"{path}: front-end concatenation order {pools} is not the expected one")
    if layers["activation"]["config"]["activation"] != "sigmoid":
        raise HDF5Error(f"{path}: the output is not a sigmoid")


def load_keras_weights(path, n_out=50):
    """A MusiCNN with the weights of the Keras HDF5 file at `path`, in eval
    mode.  Raises HDF5Error naming the file when it is missing, unreadable or
    not a musicnn network."""
    import h5py
    if not os.path.isfile(path):
        raise HDF5Error(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise HDF5Error(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        _check_config(f, path)
        if "model_weights" not in f:
            raise HDF5Error(f"{path}: no model_weights group")
        g = f["model_weights"]
        net = MusiCNN(n_out=50)
        try:
            _load_bn(net.front.input_bn, g, "batch_normalization", 1)
            for branch, (_, conv, bn, kernel, filters) in zip(net.front.branches, FRONT_BRANCHES):
                _load_conv(branch.conv, g, conv, (kernel[0], kernel[1], 1, filters))
                _load_bn(branch.bn, g, bn, filters)
            widths = [FRONTEND_CHANNELS, MIDEND_CHANNELS, MIDEND_CHANNELS]
            for i in range(3):
                _load_conv(net.mid.convs[i], g, f"midend_conv{i + 1}", (7, widths[i], 1, 64))
                _load_bn(net.mid.bns[i], g, f"bn_midend_conv{i + 1}", MIDEND_CHANNELS)
            _load_bn(net.back.bn_pool, g, "bn_flatpool", 2 * POOLED_CHANNELS)
            dense = _dataset(g, "dense", ("kernel",), (2 * POOLED_CHANNELS, 200))
            with torch.no_grad():
                net.back.dense.weight.copy_(torch.from_numpy(dense.T.copy()))
                net.back.dense.bias.copy_(torch.from_numpy(_dataset(g, "dense", ("bias",), (200,))))
            _load_bn(net.back.bn_dense, g, "bn_dense", 200)
            out = _dataset(g, "dense_1", ("kernel",), (200, 50))
            with torch.no_grad():
                net.back.out.weight.copy_(torch.from_numpy(out.T.copy()))
                net.back.out.bias.copy_(torch.from_numpy(_dataset(g, "dense_1", ("bias",), (50,))))
        except KeyError as e:
            raise HDF5Error(f"{path}: missing dataset {e}") from None
    n_params = sum(p.numel() for p in net.parameters())
    if n_params != 787159:
        raise HDF5Error(f"{path}: {n_params} trainable parameters, musicnn has 787159")
    if n_out != 50:
        net.back.out = nn.Linear(200, n_out)
    return net.eval()


def _bn_affine(bn):
    """A batch norm in eval mode as (scale, shift)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias.detach() - bn.running_mean * scale
    return scale.numpy().astype(np.float32), shift.numpy().astype(np.float32)


def trunk_nodes(front, mid, prefix=""):
    """Model-file nodes (train/genre_model_file.py, version 2) of a musicnn
    front-end and mid-end up to the time pooling, names prefixed (so two
    trunks can share a graph).  Batch norms become affine nodes.  Returns
    (nodes, name of the pooled vector: 1506 values, max/mean interleaved)."""
    nodes = []

    def add(name, kind, inputs, **kw):
        nodes.append(dict(name=prefix + name, type=kind, inputs=inputs, **kw))
        return prefix + name

    def affine(name, bn, src):
        scale, shift = _bn_affine(bn)
        return add(name, "affine", [src], scale=scale, shift=shift)

    x = affine("input_bn", front.input_bn, "input")
    branches = []
    for (name, _, _, kernel, _), b in zip(FRONT_BRANCHES, front.branches):
        c = add(name, "conv2d", [x], weight=b.conv.weight.detach().numpy(),
                bias=b.conv.bias.detach().numpy(), pad_t=b.pad[0], pad_f=0)
        r = add(f"{name}_relu", "relu", [c])
        n = affine(f"{name}_bn", b.bn, r)
        branches.append(add(f"{name}_fmax", "freq_max", [n]))
    fe = add("frontend", "concat", branches)
    prev, outs = fe, []
    for i, (conv, bn) in enumerate(zip(mid.convs, mid.bns), start=1):
        c = add(f"mid{i}", "conv2d", [prev], weight=conv.weight.detach().numpy()[..., None],
                bias=conv.bias.detach().numpy(), pad_t=3, pad_f=0)
        r = add(f"mid{i}_relu", "relu", [c])
        n = affine(f"mid{i}_bn", bn, r)
        prev = add(f"mid{i}_res", "add", [n, prev]) if i > 1 else n
        outs.append(prev)
    feats = add("features", "concat", [fe] + outs)
    return nodes, add("pool", "time_maxmean", [feats])


def graph_nodes(front, mid, back, output="softmax"):
    """The whole network as model-file nodes: the trunk, then musicnn's
    back-end (batch norm, dense 200, ReLU, batch norm, output layer)."""
    nodes, pooled = trunk_nodes(front, mid)

    def add(name, kind, inputs, **kw):
        nodes.append(dict(name=name, type=kind, inputs=inputs, **kw))
        return name

    def affine(name, bn, src):
        scale, shift = _bn_affine(bn)
        return add(name, "affine", [src], scale=scale, shift=shift)

    h = affine("pool_bn", back.bn_pool, pooled)
    h = add("dense", "dense", [h], weight=back.dense.weight.detach().numpy(),
            bias=back.dense.bias.detach().numpy())
    h = add("dense_relu", "relu", [h])
    h = affine("dense_bn", back.bn_dense, h)
    h = add("out", "dense", [h], weight=back.out.weight.detach().numpy(),
            bias=back.out.bias.detach().numpy())
    add("probs", output, [h])
    return nodes


def frontend_for_model(window_frames):
    """The model file's front-end spec: musicnn's input as log10(1 + 1e4 E)."""
    fe = dict(FRONTEND_SPEC)
    fe.update(window_frames=window_frames,
              norm_mean=np.full(N_MELS, LOG10_MEAN, dtype=np.float32),
              norm_std=np.full(N_MELS, LOG10_STD, dtype=np.float32))
    return fe
