"""Writer and reader for genre model files (.gmdl), format versions 1 and 2.

The byte layout is defined in doc/model-format.md; this module and the C
loader (src/lib/model.c) are two independent implementations of it.  NumPy
and the standard library only, so the trainer, the tests and small tools can
all import it.

    write_model(path, frontend, labels, layers, meta)
    read_model(path) -> {"frontend", "labels", "layers", "meta",
                         "format_version", "crc32"}

frontend: dict with sample_rate, n_fft, hop, window ("hann"), n_mels, fmin,
fmax, mel_scale ("slaney" | "htk"), log_offset, window_frames, norm_mean and
norm_std (float32 [n_mels]).
layers: list of dicts, one of
    {"type": "conv2d", "weight": W[out, in, kh, kw], "bias": b[out], "pad": (ph, pw)}
    {"type": "relu"}
    {"type": "maxpool2d", "kernel": (kh, kw)}
    {"type": "global_meanmax"}
    {"type": "dense", "weight": W[out, in], "bias": b[out]}
    {"type": "softmax"}
meta: dict of provenance strings (written as key=value lines).

Version 2 (a graph, written when `nodes` is given instead of `layers`):
    write_model(path, frontend, labels, None, meta, nodes=nodes)
frontend may then also hold mel_norm ("peak" | "area").  nodes: list of
dicts, each with "name" (ASCII, unique, <= 31 bytes), "type", "inputs"
(names of other nodes, or "input" for the front-end frames) and
    conv2d:  "weight" W[out, in, kt, kf], "bias" b[out], "pad_t" (frames of
             context before; kt - 1 - pad_t after), "pad_f" (bins each side)
    affine:  "scale" s[C], "shift" t[C]     (y = x * s + t per channel)
    dense:   "weight" W[out, in], "bias" b[out]
    relu, freq_max, concat, add, time_maxmean, softmax, sigmoid: nothing
The last node is the output.  The C loader checks the graph (references,
cycles, shapes); this writer checks names, references and tensors.
"""

import math
import struct
import zlib

import numpy as np

MAGIC = b"GENREMDL"
FORMAT_VERSION = 1
GRAPH_FORMAT_VERSION = 2
ENDIAN_MARKER = 0x01020304
HEADER = struct.Struct("<8sIIIIQ")          # magic, version, endian, header size, sections, file size
SECTION = struct.Struct("<4sIQQ")           # tag, flags, offset, size
FRONTEND = struct.Struct("<IIIIIffIfI")     # see doc/model-format.md, section FRNT
FRONTEND_V2 = struct.Struct("<IIIIIffIfII") # version 2 adds mel_norm
NODE = struct.Struct("<32sII8i6iii24x")    # name, type, n_inputs, inputs[8], p[6], weight, bias
LAYER = struct.Struct("<I6Iii")             # type, p[6], weight tensor, bias tensor
TENSOR = struct.Struct("<32sII4IQQ")        # name, dtype, ndim, dims[4], offset, size
FLAG_REQUIRED = 1
ALIGN = 16
DTYPE_F32 = 1
TENSOR_NAME_MAX = 31

WINDOWS = {"hann": 1}
MEL_SCALES = {"slaney": 1, "htk": 2}
MEL_NORMS = {"peak": 0, "area": 1}
LAYER_TYPES = {"conv2d": 1, "relu": 2, "maxpool2d": 3, "global_meanmax": 4,
               "dense": 5, "softmax": 6}
NODE_TYPES = {"conv2d": 1, "relu": 2, "dense": 5, "softmax": 6, "sigmoid": 7, "affine": 8,
              "freq_max": 9, "concat": 10, "add": 11, "time_maxmean": 12}
NODE_MAX_INPUTS = 8

# Limits shared with the C loader, so a file this writes is one it reads.
MAX_LABELS = 1024
MAX_LAYERS = 256
MAX_DIM = 1 << 20


class ModelFileError(ValueError):
    """A model that cannot be written or a file that cannot be read."""


def _pad_to(n, align=ALIGN):
    return (n + align - 1) // align * align


def _lookup(table, value, what):
    if value not in table:
        raise ModelFileError(f"{what} {value!r} is not one of {sorted(table)}")
    return table[value]


def _name_of(table, code, what):
    for name, c in table.items():
        if c == code:
            return name
    raise ModelFileError(f"unknown {what} code {code}")


def _f32(array, what, ndim):
    a = np.asarray(array)
    if a.ndim != ndim:
        raise ModelFileError(f"{what}: expected {ndim} dimensions, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype="<f4")
    if not np.all(np.isfinite(a)):
        raise ModelFileError(f"{what}: contains NaN or infinity")
    if any(d < 1 or d > MAX_DIM for d in a.shape):
        raise ModelFileError(f"{what}: dimension out of range in shape {a.shape}")
    return a


def _check_frontend(fe):
    rate, n_fft, hop = int(fe["sample_rate"]), int(fe["n_fft"]), int(fe["hop"])
    n_mels, frames = int(fe["n_mels"]), int(fe["window_frames"])
    fmin, fmax, offset = float(fe["fmin"]), float(fe["fmax"]), float(fe["log_offset"])
    if not 8000 <= rate <= 192000:
        raise ModelFileError(f"sample_rate {rate} outside 8000..192000")
    if not (64 <= n_fft <= 16384 and n_fft & (n_fft - 1) == 0):
        raise ModelFileError(f"n_fft {n_fft} is not a power of two in 64..16384")
    if not 1 <= hop <= n_fft:
        raise ModelFileError(f"hop {hop} outside 1..n_fft")
    if not 1 <= n_mels <= 512:
        raise ModelFileError(f"n_mels {n_mels} outside 1..512")
    if not (0 <= fmin < fmax <= rate / 2):
        raise ModelFileError(f"need 0 <= fmin < fmax <= sample_rate/2, got {fmin}, {fmax}")
    if not (math.isfinite(offset) and offset > 0):
        raise ModelFileError(f"log_offset {offset} must be finite and > 0")
    if not 1 <= frames <= 100000:
        raise ModelFileError(f"window_frames {frames} outside 1..100000")


def _layer_records(layers, c, h, w, check_chain=True):
    """Walk the layers from the input shape [c][h][w] like the C engine does,
    checking shapes, and return (records, tensors, output size).  Tests that
    need a file whose layers do not chain pass check_chain=False."""
    records, tensors = [], []
    flat = None                 # vector length once the activation is 1-D

    def chain_error(message):
        if check_chain:
            raise ModelFileError(message)

    def add_tensor(name, array):
        tensors.append((name, array))
        return len(tensors) - 1

    if not layers:
        raise ModelFileError("no layers")
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(f"{len(layers)} layers, at most {MAX_LAYERS}")
    for i, layer in enumerate(layers):
        kind = layer["type"]
        code = _lookup(LAYER_TYPES, kind, f"layer {i} type")
        p, wi, bi = [0] * 6, -1, -1
        where = f"layer {i} ({kind})"
        if kind == "conv2d":
            wt = _f32(layer["weight"], f"{where} weight", 4)
            bs = _f32(layer["bias"], f"{where} bias", 1)
            out_c, in_c, kh, kw = wt.shape
            ph, pw = (int(v) for v in layer.get("pad", (0, 0)))
            if bs.shape != (out_c,):
                raise ModelFileError(f"{where}: bias shape {bs.shape}, expected ({out_c},)")
            if not (0 <= ph <= kh and 0 <= pw <= kw):
                raise ModelFileError(f"{where}: padding ({ph}, {pw}) must be within 0..kernel size")
            if flat is not None or in_c != c:
                chain_error(f"{where}: expects {in_c} input channels, "
                                     f"gets {'a vector' if flat is not None else c}")
            h, w = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
            if h < 1 or w < 1:
                chain_error(f"{where}: kernel larger than its padded input")
            c = out_c
            p = [in_c, out_c, kh, kw, ph, pw]
            wi = add_tensor(f"layer{i}.weight", wt)
            bi = add_tensor(f"layer{i}.bias", bs)
        elif kind == "maxpool2d":
            kh, kw = (int(v) for v in layer["kernel"])
            if flat is not None:
                chain_error(f"{where}: needs a [C][H][W] input")
            if kh < 1 or kw < 1 or kh > h or kw > w:
                raise ModelFileError(f"{where}: kernel ({kh}, {kw}) does not fit input {h}x{w}")
            h, w = h // kh, w // kw
            p = [kh, kw, 0, 0, 0, 0]
        elif kind == "global_meanmax":
            if flat is not None:
                chain_error(f"{where}: needs a [C][H][W] input")
            flat = 2 * c
        elif kind == "dense":
            wt = _f32(layer["weight"], f"{where} weight", 2)
            bs = _f32(layer["bias"], f"{where} bias", 1)
            n_out, n_in = wt.shape
            if bs.shape != (n_out,):
                raise ModelFileError(f"{where}: bias shape {bs.shape}, expected ({n_out},)")
            have = flat if flat is not None else c * h * w
            if n_in != have:
                chain_error(f"{where}: expects {n_in} inputs, gets {have}")
            flat = n_out
            p = [n_in, n_out, 0, 0, 0, 0]
            wi = add_tensor(f"layer{i}.weight", wt)
            bi = add_tensor(f"layer{i}.bias", bs)
        elif kind in ("relu", "softmax"):
            if kind == "softmax" and flat is None:
                chain_error(f"{where}: needs a vector input")
        records.append(LAYER.pack(code, *p, wi, bi))
    if layers[-1]["type"] != "softmax":
        chain_error("the last layer must be softmax")
    return records, tensors, flat


def _node_records(nodes):
    """GRPH entries and tensors of a version-2 graph."""
    if not 1 <= len(nodes) <= MAX_LAYERS:
        raise ModelFileError(f"{len(nodes)} nodes, need 1..{MAX_LAYERS}")
    index = {}
    for i, nd in enumerate(nodes):
        name = str(nd["name"])
        raw = name.encode("ascii")
        if not raw or len(raw) > TENSOR_NAME_MAX or not all(0x20 <= b < 0x7f for b in raw):
            raise ModelFileError(f"node {i}: name {name!r} must be 1..31 printable ASCII bytes")
        if name in index or name == "input":
            raise ModelFileError(f"node {i}: name {name!r} is used twice or reserved")
        index[name] = i
    records, tensors = [], []

    def add_tensor(name, array):
        tensors.append((name, array))
        return len(tensors) - 1

    for i, nd in enumerate(nodes):
        kind, name = nd["type"], nd["name"]
        code = _lookup(NODE_TYPES, kind, f"node {i} ({name}) type")
        where = f"node {i} ({name})"
        inputs = list(nd["inputs"])
        if not 1 <= len(inputs) <= NODE_MAX_INPUTS:
            raise ModelFileError(f"{where}: {len(inputs)} inputs")
        refs = []
        for ref in inputs:
            if ref != "input" and ref not in index:
                raise ModelFileError(f"{where}: input {ref!r} is not a node")
            refs.append(-1 if ref == "input" else index[ref])
        p, wi, bi = [0] * 6, -1, -1
        if kind == "conv2d":
            wt = _f32(nd["weight"], f"{where} weight", 4)
            bs = _f32(nd["bias"], f"{where} bias", 1)
            out_c, in_c, kt, kf = wt.shape
            pad_t, pad_f = int(nd.get("pad_t", (kt - 1) // 2)), int(nd.get("pad_f", 0))
            if not (0 <= pad_t < kt and 0 <= pad_f < kf) or bs.shape != (out_c,):
                raise ModelFileError(f"{where}: padding ({pad_t}, {pad_f}) or bias {bs.shape} "
                                     f"does not fit kernel {wt.shape}")
            p = [in_c, out_c, kt, kf, pad_t, pad_f]
            wi, bi = add_tensor(f"{name}.w", wt), add_tensor(f"{name}.b", bs)
        elif kind == "dense":
            wt = _f32(nd["weight"], f"{where} weight", 2)
            bs = _f32(nd["bias"], f"{where} bias", 1)
            if bs.shape != (wt.shape[0],):
                raise ModelFileError(f"{where}: bias {bs.shape} for weight {wt.shape}")
            p = [wt.shape[1], wt.shape[0], 0, 0, 0, 0]
            wi, bi = add_tensor(f"{name}.w", wt), add_tensor(f"{name}.b", bs)
        elif kind == "affine":
            sc = _f32(nd["scale"], f"{where} scale", 1)
            sh = _f32(nd["shift"], f"{where} shift", 1)
            if sc.shape != sh.shape:
                raise ModelFileError(f"{where}: scale {sc.shape} and shift {sh.shape} differ")
            p = [sc.shape[0], 0, 0, 0, 0, 0]
            wi, bi = add_tensor(f"{name}.w", sc), add_tensor(f"{name}.b", sh)
        if any(len(t[0]) > TENSOR_NAME_MAX for t in tensors):
            raise ModelFileError(f"{where}: name too long for its tensor names")
        records.append(NODE.pack(name.encode("ascii"), code, len(refs),
                                 *(refs + [0] * (NODE_MAX_INPUTS - len(refs))), *p, wi, bi))
    return records, tensors


def encode_model(frontend, labels, layers, meta, check_chain=True, nodes=None):
    """The complete file image as bytes (write_model writes exactly this):
    version 1 from `layers`, version 2 from `nodes`."""
    fe = dict(frontend)
    _check_frontend(fe)
    n_mels = int(fe["n_mels"])
    mean = _f32(fe["norm_mean"], "norm_mean", 1)
    std = _f32(fe["norm_std"], "norm_std", 1)
    if mean.shape != (n_mels,) or std.shape != (n_mels,):
        raise ModelFileError(f"norm_mean/norm_std must have n_mels = {n_mels} values")
    if not np.all(std > 0):
        raise ModelFileError("norm_std must be > 0")
    fields = (int(fe["sample_rate"]), int(fe["n_fft"]), int(fe["hop"]),
              _lookup(WINDOWS, fe.get("window", "hann"), "window"), n_mels,
              float(fe["fmin"]), float(fe["fmax"]),
              _lookup(MEL_SCALES, fe.get("mel_scale", "slaney"), "mel_scale"),
              float(fe["log_offset"]), int(fe["window_frames"]))
    mel_norm = _lookup(MEL_NORMS, fe.get("mel_norm", "peak"), "mel_norm")
    if nodes is None and mel_norm != 0:
        raise ModelFileError("mel_norm 'area' needs a version-2 (graph) model")
    frnt = FRONTEND.pack(*fields) if nodes is None else FRONTEND_V2.pack(*fields, mel_norm)
    frnt += mean.tobytes() + std.tobytes()

    labels = [str(s) for s in labels]
    if not 1 <= len(labels) <= MAX_LABELS:
        raise ModelFileError(f"{len(labels)} labels, need 1..{MAX_LABELS}")
    if len(set(labels)) != len(labels):
        raise ModelFileError("duplicate label names")
    labl = struct.pack("<I", len(labels))
    for name in labels:
        raw = name.encode("utf-8")
        if not raw or b"\0" in raw:
            raise ModelFileError(f"label {name!r} is empty or contains NUL")
        labl += struct.pack("<I", len(raw)) + raw

    if nodes is None:
        records, tensors, n_out = _layer_records(layers, 1, int(fe["window_frames"]), n_mels,
                                                 check_chain)
        if check_chain and n_out != len(labels):
            raise ModelFileError(f"the network outputs {n_out} values for {len(labels)} labels")
        network = (b"LAYR", struct.pack("<I", len(records)) + b"".join(records))
    else:
        records, tensors = _node_records(nodes)
        network = (b"GRPH", struct.pack("<I", len(records)) + b"".join(records))

    tdir, tdat = [struct.pack("<I", len(tensors))], bytearray()
    for name, array in tensors:
        raw_name = name.encode("ascii")
        assert len(raw_name) <= TENSOR_NAME_MAX
        dims = list(array.shape) + [0] * (4 - array.ndim)
        tdat += b"\0" * (_pad_to(len(tdat)) - len(tdat))
        tdir.append(TENSOR.pack(raw_name, DTYPE_F32, array.ndim, *dims, len(tdat), array.nbytes))
        tdat += array.tobytes()

    lines = []
    for key, value in (meta or {}).items():
        key, value = str(key), str(value)
        if not key or any(ch in key for ch in "=\n\0"):
            raise ModelFileError(f"meta key {key!r} must be non-empty without '=', newline, NUL")
        if any(ch in value for ch in "\n\0"):
            raise ModelFileError(f"meta value for {key!r} contains a newline or NUL")
        lines.append(f"{key}={value}\n")
    text = "".join(lines).encode("utf-8")

    sections = [(b"FRNT", FLAG_REQUIRED, frnt), (b"LABL", FLAG_REQUIRED, labl),
                (network[0], FLAG_REQUIRED, network[1]), (b"TDIR", FLAG_REQUIRED, b"".join(tdir)),
                (b"TDAT", FLAG_REQUIRED, bytes(tdat)), (b"META", 0, text)]
    return assemble(sections, FORMAT_VERSION if nodes is None else GRAPH_FORMAT_VERSION)


def assemble(sections, version=FORMAT_VERSION, endian=ENDIAN_MARKER):
    """Lay out (tag, flags, payload) sections behind a header and table, each
    payload 16-byte aligned, and append the CRC.  Exposed for tests that need
    deliberately odd files."""
    table_end = HEADER.size + SECTION.size * len(sections)
    offset, table, body = _pad_to(table_end), [], bytearray()
    body += b"\0" * (offset - table_end)
    for tag, flags, payload in sections:
        table.append(SECTION.pack(tag, flags, offset, len(payload)))
        body += payload
        offset += len(payload)
        pad = _pad_to(offset) - offset
        body += b"\0" * pad
        offset += pad
    total = offset + 4
    image = HEADER.pack(MAGIC, version, endian, HEADER.size, len(sections), total)
    image += b"".join(table) + bytes(body)
    return image + struct.pack("<I", zlib.crc32(image) & 0xFFFFFFFF)


def write_model(path, frontend, labels, layers, meta, nodes=None):
    """Check and write a model file (atomically: temp file + rename)."""
    import os
    image = encode_model(frontend, labels, layers, meta, nodes=nodes)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(image)
    os.replace(tmp, path)


def _tensor(tdir, tdat, index):
    if not 0 <= index < len(tdir):
        raise ModelFileError(f"tensor index {index} out of range")
    dims, offset, size = tdir[index]
    array = np.frombuffer(tdat, dtype="<f4", count=size // 4, offset=offset)
    return array.reshape(dims).astype(np.float32)


def decode_model(data):
    """Parse a file image (bytes) into the dict write_model takes."""
    data = bytes(data)
    if len(data) < HEADER.size + 4:
        raise ModelFileError(f"file too short: {len(data)} bytes")
    magic, version, endian, header_size, count, total = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ModelFileError("not a genre model file")
    if endian != ENDIAN_MARKER:
        raise ModelFileError("big-endian file" if endian == 0x04030201 else "bad endianness marker")
    if version not in (FORMAT_VERSION, GRAPH_FORMAT_VERSION):
        raise ModelFileError(f"format version {version}, this reader reads 1 and 2")
    if total != len(data):
        raise ModelFileError(f"truncated: header says {total} bytes, file has {len(data)}")
    stored, = struct.unpack_from("<I", data, total - 4)
    computed = zlib.crc32(data[:total - 4]) & 0xFFFFFFFF
    if stored != computed:
        raise ModelFileError(f"CRC mismatch: stored {stored:08x}, computed {computed:08x}")
    sections = {}
    for i in range(count):
        tag, flags, off, size = SECTION.unpack_from(data, header_size + i * SECTION.size)
        if off + size > total - 4:
            raise ModelFileError(f"section {tag!r} outside the file")
        sections[tag.decode("ascii", "replace")] = data[off:off + size]

    frnt = sections["FRNT"]
    fs = FRONTEND if version == FORMAT_VERSION else FRONTEND_V2
    v = fs.unpack_from(frnt)
    n_mels = v[4]
    floats = np.frombuffer(frnt, dtype="<f4", count=2 * n_mels, offset=fs.size)
    frontend = dict(sample_rate=v[0], n_fft=v[1], hop=v[2], window=_name_of(WINDOWS, v[3], "window"),
                    n_mels=n_mels, fmin=v[5], fmax=v[6],
                    mel_scale=_name_of(MEL_SCALES, v[7], "mel scale"), log_offset=v[8],
                    window_frames=v[9], norm_mean=floats[:n_mels].astype(np.float32),
                    norm_std=floats[n_mels:].astype(np.float32),
                    mel_norm=_name_of(MEL_NORMS, v[10] if version == GRAPH_FORMAT_VERSION else 0,
                                      "mel norm"))

    labl, labels = sections["LABL"], []
    n, = struct.unpack_from("<I", labl)
    pos = 4
    for _ in range(n):
        length, = struct.unpack_from("<I", labl, pos)
        labels.append(labl[pos + 4:pos + 4 + length].decode("utf-8"))
        pos += 4 + length

    tdir_raw, tdir = sections["TDIR"], []
    n, = struct.unpack_from("<I", tdir_raw)
    for i in range(n):
        _name, _dtype, ndim, *rest = TENSOR.unpack_from(tdir_raw, 4 + i * TENSOR.size)
        dims, offset, size = rest[:ndim], rest[4], rest[5]
        tdir.append((tuple(dims), offset, size))

    layers, nodes = [], None
    if version == GRAPH_FORMAT_VERSION:
        nodes = _decode_nodes(sections["GRPH"], tdir, sections["TDAT"])
    layr = sections.get("LAYR", struct.pack("<I", 0))
    n, = struct.unpack_from("<I", layr)
    for i in range(n):
        code, *rest = LAYER.unpack_from(layr, 4 + i * LAYER.size)
        p, wi, bi = rest[:6], rest[6], rest[7]
        kind = _name_of(LAYER_TYPES, code, "layer type")
        layer = {"type": kind}
        if kind == "conv2d":
            layer.update(weight=_tensor(tdir, sections["TDAT"], wi),
                         bias=_tensor(tdir, sections["TDAT"], bi), pad=(p[4], p[5]))
        elif kind == "dense":
            layer.update(weight=_tensor(tdir, sections["TDAT"], wi),
                         bias=_tensor(tdir, sections["TDAT"], bi))
        elif kind == "maxpool2d":
            layer["kernel"] = (p[0], p[1])
        layers.append(layer)

    meta = {}
    for line in sections.get("META", b"").decode("utf-8").splitlines():
        key, _, value = line.partition("=")
        meta[key] = value
    return {"frontend": frontend, "labels": labels, "layers": layers, "nodes": nodes,
            "meta": meta, "format_version": version, "crc32": stored}


def _decode_nodes(grph, tdir, tdat):
    n, = struct.unpack_from("<I", grph)
    raw = [NODE.unpack_from(grph, 4 + i * NODE.size) for i in range(n)]
    names = [r[0].rstrip(b"\0").decode("ascii") for r in raw]
    nodes = []
    for r, name in zip(raw, names):
        code, n_in = r[1], r[2]
        refs, p, wi, bi = r[3:3 + n_in], r[11:17], r[17], r[18]
        kind = _name_of(NODE_TYPES, code, "node type")
        nd = {"name": name, "type": kind, "inputs": ["input" if k < 0 else names[k] for k in refs]}
        if kind in ("conv2d", "dense"):
            nd.update(weight=_tensor(tdir, tdat, wi), bias=_tensor(tdir, tdat, bi))
            if kind == "conv2d":
                nd.update(pad_t=p[4], pad_f=p[5])
        elif kind == "affine":
            nd.update(scale=_tensor(tdir, tdat, wi), shift=_tensor(tdir, tdat, bi))
        nodes.append(nd)
    return nodes


def read_model(path):
    with open(path, "rb") as f:
        return decode_model(f.read())
