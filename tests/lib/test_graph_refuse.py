"""Version-2 (graph) model files: a good one round-trips through the C loader
(tests/model_dump prints what it read) and the Python reader bit-exactly;
bad ones -- written with train/genre_model_file.py's encode_model(nodes=...)
or made by patching bytes of a good image and recomputing its CRC-32 -- are
refused by the C loader with a one-line message that names the node at
fault (or the section / field, for file-level faults).
Usage: test_graph_refuse.py SOURCE_ROOT MODEL_DUMP_EXE TMPDIR"""
import copy
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

from train import genre_model_file as gmf

source_root, dump_exe, tmpdir = sys.argv[1:4]

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import checklist  # noqa: E402
from checklist import check, summary  # noqa: E402

checklist.verbose = False  # thousands of checks: print failures only





rng = np.random.default_rng(20261125)


def f32(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def frontend(n_mels=8, frames=20, mel_norm="area"):
    return dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=n_mels,
                fmin=0.0, fmax=8000.0, mel_scale="slaney", log_offset=1e-3,
                window_frames=frames, mel_norm=mel_norm,
                norm_mean=np.linspace(-3, 1, n_mels).astype(np.float32),
                norm_std=np.linspace(0.5, 2, n_mels).astype(np.float32))


LABELS = ["blues", "jazz", "metal"]


def conv(name, inputs, out_c, in_c, kt, kf, pad_t, pad_f):
    return dict(name=name, type="conv2d", inputs=inputs, weight=f32(out_c, in_c, kt, kf),
                bias=f32(out_c), pad_t=pad_t, pad_f=pad_f)


def good_nodes():
    """Every node type: two front convs (one padded in frequency), relu,
    affine, freq_max, concat, a residual add, time_maxmean, dense, softmax.
    Shapes on 8 mel bands noted per node."""
    return [
        conv("conv_a", ["input"], 4, 1, 3, 3, 1, 1),                          # [8][4]
        dict(name="relu_a", type="relu", inputs=["conv_a"]),
        dict(name="bn_a", type="affine", inputs=["relu_a"], scale=f32(4) + 1, shift=f32(4)),
        dict(name="fmax_a", type="freq_max", inputs=["bn_a"]),                 # [1][4]
        conv("conv_b", ["input"], 2, 1, 5, 8, 2, 0),                          # [1][2]
        dict(name="cat", type="concat", inputs=["fmax_a", "conv_b"]),         # [1][6]
        conv("mid", ["cat"], 6, 6, 3, 1, 1, 0),                               # [1][6]
        dict(name="res", type="add", inputs=["mid", "cat"]),                  # [1][6]
        dict(name="pool", type="time_maxmean", inputs=["res"]),               # 12
        dict(name="dense", type="dense", inputs=["pool"], weight=f32(3, 12), bias=f32(3)),
        dict(name="out", type="softmax", inputs=["dense"]),
    ]


GOOD_NODES = good_nodes()
GOOD_META = {"arch": "graph-refuse", "note": "v2 round trip"}


def encode(nodes=None, fe=None, labels=LABELS):
    return gmf.encode_model(fe or frontend(), labels, None, GOOD_META,
                            nodes=GOOD_NODES if nodes is None else nodes)


def node_index(name, nodes=None):
    return [n["name"] for n in (nodes or GOOD_NODES)].index(name)


# ---- byte surgery on an image ----

def sections(img):
    count, = struct.unpack_from("<I", img, 20)
    out = {}
    for i in range(count):
        tag, flags, off, size = gmf.SECTION.unpack_from(img, 32 + i * gmf.SECTION.size)
        out[tag.decode("ascii")] = (off, size, flags)
    return out


def fix_crc(img):
    img = bytearray(img)
    struct.pack_into("<I", img, len(img) - 4, zlib.crc32(bytes(img[:-4])) & 0xFFFFFFFF)
    return bytes(img)


def node_offset(img, i):
    return sections(img)["GRPH"][0] + 4 + i * gmf.NODE.size


def patch(img, offset, fmt, *values):
    img = bytearray(img)
    struct.pack_into(fmt, img, offset, *values)
    return fix_crc(img)


def patch_node(img, name, field_offset, fmt, *values):
    return patch(img, node_offset(img, node_index(name)) + field_offset, fmt, *values)


# Node entry fields (doc/model-format.md, GRPH).
NAME, TYPE, N_INPUTS, INPUTS, PARAMS, WEIGHT, BIAS, RESERVED = 0, 32, 36, 40, 72, 96, 100, 104


def set_name(img, index, raw):
    return patch(img, node_offset(img, index), "32s", raw)


def split_sections(img):
    """(tag, flags, payload) of every section, for re-assembly."""
    out = []
    for tag, (off, size, flags) in sections(img).items():
        out.append((tag.encode("ascii"), flags, img[off:off + size]))
    return out


# ---- running the C loader ----

def dump(path):
    return subprocess.run([dump_exe, path], capture_output=True, text=True)


def write(name, data):
    path = os.path.join(tmpdir, name + ".gmdl")
    with open(path, "wb") as f:
        f.write(data)
    return path


def expect_refused(name, data, *needles):
    path = write(name, data)
    r = dump(path)
    msg = r.stderr.strip()
    check(r.returncode == 1, f"{name}: C loader exit {r.returncode} (expected 1), stderr {msg!r}")
    check("\n" not in msg and msg, f"{name}: message is not one line: {msg!r}")
    for needle in needles:
        check(needle in msg, f"{name}: message {msg!r} lacks {needle!r}")


def refused_message(name, data):
    r = dump(write(name, data))
    check(r.returncode == 1, f"{name}: C loader exit {r.returncode} (expected 1)")
    return r.stderr.strip()


def with_nodes(edit):
    nodes = copy.deepcopy(GOOD_NODES)
    edit(nodes)
    return encode(nodes)


def replace(nodes, name, new):
    nodes[[n["name"] for n in nodes].index(name)] = new


# ---- the good file ----

def test_round_trip():
    img = encode()
    check(img == encode(), "encode_model is not deterministic")
    path = write("good", img)
    r = dump(path)
    check(r.returncode == 0, f"good v2 file refused: {r.stderr.strip()}")
    if r.returncode != 0:
        return
    d = json.loads(r.stdout)
    check(d["format_version"] == 2, f"format_version {d['format_version']}")
    check(d["crc32"] == struct.unpack_from("<I", img, len(img) - 4)[0], "crc32")
    check(d["layers"] == [], f"a v2 model has layers: {d['layers']}")
    fe = frontend()
    for key in ("sample_rate", "n_fft", "hop", "n_mels", "window_frames"):
        check(d["frontend"][key] == fe[key], f"frontend.{key} {d['frontend'][key]} != {fe[key]}")
    check(d["frontend"]["mel_norm"] == gmf.MEL_NORMS[fe["mel_norm"]],
          f"frontend.mel_norm {d['frontend']['mel_norm']}")
    for key in ("norm_mean", "norm_std"):
        check(np.array_equal(np.float32(d["frontend"][key]), fe[key]), f"frontend.{key}")
    check(d["labels"] == LABELS, f"labels {d['labels']}")
    check(d["meta"] == "".join(f"{k}={v}\n" for k, v in GOOD_META.items()), f"meta {d['meta']!r}")
    names = [n["name"] for n in GOOD_NODES]
    check(len(d["nodes"]) == len(GOOD_NODES), f"{len(d['nodes'])} nodes")
    for i, (dn, n) in enumerate(zip(d["nodes"], GOOD_NODES)):
        tag = f"node {i} ({n['name']})"
        check(dn["name"] == n["name"], f"{tag}: name {dn['name']!r}")
        check(dn["type"] == gmf.NODE_TYPES[n["type"]], f"{tag}: type {dn['type']}")
        want_in = [-1 if s == "input" else names.index(s) for s in n["inputs"]]
        check(dn["inputs"] == want_in, f"{tag}: inputs {dn['inputs']} != {want_in}")
        if n["type"] == "conv2d":
            o, c, kt, kf = n["weight"].shape
            want_p = [c, o, kt, kf, n["pad_t"], n["pad_f"]]
        elif n["type"] == "dense":
            o, c = n["weight"].shape
            want_p = [c, o, 0, 0, 0, 0]
        elif n["type"] == "affine":
            want_p = [len(n["scale"]), 0, 0, 0, 0, 0]
        else:
            want_p = [0] * 6
        check(dn["p"] == want_p, f"{tag}: p {dn['p']} != {want_p}")
        w, b = (n.get("weight"), n.get("bias")) if n["type"] != "affine" else (n["scale"], n["shift"])
        if w is None:
            check("weight" not in dn, f"{tag}: has a weight")
        else:
            check(np.array_equal(np.float32(dn["weight"]).view(np.uint32),
                                 np.ravel(w).view(np.uint32)), f"{tag}: weight differs")
            check(np.array_equal(np.float32(dn["bias"]).view(np.uint32),
                                 np.ravel(b).view(np.uint32)), f"{tag}: bias differs")
    # The Python reader agrees too.
    back = gmf.decode_model(img)
    check(back["format_version"] == 2 and back["frontend"]["mel_norm"] == "area",
          "read_model: version / mel_norm")
    for n, bn in zip(GOOD_NODES, back["nodes"]):
        check(n["name"] == bn["name"] and n["type"] == bn["type"] and n["inputs"] == bn["inputs"],
              f"read_model: node {n['name']}")
        for key in ("weight", "bias", "scale", "shift"):
            if key in n:
                check(np.array_equal(n[key], bn[key]), f"read_model: node {n['name']} {key}")
    # Nodes in any order (the output last) and peak mel_norm load too.
    shuffled = [GOOD_NODES[i] for i in (4, 0, 1, 2, 3, 5, 8, 6, 7, 9, 10)]
    r = dump(write("shuffled", gmf.encode_model(frontend(mel_norm="peak"), LABELS, None, {},
                                                nodes=shuffled)))
    check(r.returncode == 0, f"nodes out of order refused: {r.stderr.strip()}")
    if r.returncode == 0:
        d = json.loads(r.stdout)
        check(d["frontend"]["mel_norm"] == 0, "peak mel_norm")
        check([n["name"] for n in d["nodes"]] == [n["name"] for n in shuffled], "shuffled order")
    # A sigmoid output is an output too.
    sig = with_nodes(lambda ns: ns[-1].update(type="sigmoid"))
    r = dump(write("sigmoid", sig))
    check(r.returncode == 0, f"sigmoid output refused: {r.stderr.strip()}")


# ---- bad graphs ----

def test_refusals():
    good = encode()
    relu_a = node_index("relu_a")
    conv_a = node_index("conv_a")

    # Structure: cycles, references, types, input counts.
    def expect_cycle(name, data, on_cycle):
        """Refused, naming one of the nodes on the cycle (not one that
        merely reads from it)."""
        msg = refused_message(name, data)
        check("cycle" in msg and any(f"({n})" in msg for n in on_cycle),
              f"{name}: the message should name a node on the cycle {on_cycle}: {msg!r}")

    def cycle(ns):
        ns[node_index("relu_a")]["inputs"] = ["bn_a"]       # relu_a -> bn_a -> relu_a
    expect_cycle("cycle", with_nodes(cycle), ["relu_a", "bn_a"])

    def cycle_first(ns):    # the cycle's nodes listed before everything else
        ns.insert(0, dict(name="loop_a", type="relu", inputs=["loop_b"]))
        ns.insert(1, dict(name="loop_b", type="relu", inputs=["loop_a"]))
        ns[node_index("res", ns)]["inputs"] = ["mid", "loop_b"]
    expect_cycle("cycle-two", with_nodes(cycle_first), ["loop_a", "loop_b"])

    def cycle_reader_first(ns):     # a node that only reads the cycle is listed first
        ns.insert(0, dict(name="reader", type="relu", inputs=["loop_a"]))
        ns.insert(1, dict(name="loop_a", type="relu", inputs=["loop_b"]))
        ns.insert(2, dict(name="loop_b", type="relu", inputs=["loop_a"]))
        ns[node_index("res", ns)]["inputs"] = ["mid", "reader"]
    expect_cycle("cycle-reader-first", with_nodes(cycle_reader_first), ["loop_a", "loop_b"])

    def cycle_long(ns):     # a longer cycle through conv, concat and add
        ns[node_index("conv_a")]["inputs"] = ["res"]
        ns[node_index("conv_a")]["weight"] = f32(4, 6, 3, 3)
    expect_cycle("cycle-long", with_nodes(cycle_long),
                 ["conv_a", "relu_a", "bn_a", "fmax_a", "cat", "mid", "res"])

    def self_ref(ns):
        ns[node_index("relu_a")]["inputs"] = ["relu_a"]
    expect_refused("self-reference", with_nodes(self_ref), "node 1 (relu_a)", "itself")

    expect_refused("dangling-input", patch_node(good, "relu_a", INPUTS, "<i", 99),
                   "node 1 (relu_a)", "node 99")
    expect_refused("input-below-minus-one", patch_node(good, "relu_a", INPUTS, "<i", -2),
                   "node 1 (relu_a)", "-2")
    expect_refused("unknown-type", patch_node(good, "relu_a", TYPE, "<I", 42),
                   "node 1 (relu_a)", "type 42")
    expect_refused("type-zero", patch_node(good, "relu_a", TYPE, "<I", 0),
                   "node 1 (relu_a)", "type 0")
    expect_refused("maxpool2d-in-graph", patch_node(good, "relu_a", TYPE, "<I", 3),
                   "node 1 (relu_a)", "maxpool2d", "cannot be a graph node")
    expect_refused("global-meanmax-in-graph", patch_node(good, "relu_a", TYPE, "<I", 4),
                   "node 1 (relu_a)", "global_meanmax")
    expect_refused("relu-two-inputs", patch_node(good, "relu_a", N_INPUTS, "<I", 2),
                   "node 1 (relu_a", "2 inputs")
    expect_refused("relu-no-input", patch_node(good, "relu_a", N_INPUTS, "<I", 0),
                   "node 1 (relu_a", "0 inputs")

    def add3(ns):
        ns[node_index("res")]["inputs"] = ["mid", "cat", "cat"]
    expect_refused("add-three-inputs", with_nodes(add3), "(res", "3 inputs")

    def concat1(ns):
        ns[node_index("cat")]["inputs"] = ["fmax_a"]
    expect_refused("concat-one-input", with_nodes(concat1), "(cat", "1 inputs")
    expect_refused("concat-nine-inputs", patch_node(good, "cat", N_INPUTS, "<I", 9),
                   "(cat", "9 inputs")

    # Shapes.
    def conv_channels(ns):
        replace(ns, "mid", conv("mid", ["cat"], 6, 5, 3, 1, 1, 0))
    expect_refused("conv-channels", with_nodes(conv_channels), "(mid, conv2d)", "5 channels")

    def conv_too_wide(ns):
        replace(ns, "conv_b", conv("conv_b", ["input"], 2, 1, 5, 9, 2, 0))   # 9 taps over 8 bins
    expect_refused("conv-kernel-wider-than-input", with_nodes(conv_too_wide), "(conv_b, conv2d)")

    def conv_on_vector(ns):
        ns.insert(9, conv("vconv", ["pool"], 1, 12, 1, 1, 0, 0))
        ns[node_index("dense", ns)]["inputs"] = ["vconv"]
    expect_refused("conv-on-vector", with_nodes(conv_on_vector), "(vconv", "needs frames")

    def add_shapes(ns):
        ns[node_index("res")]["inputs"] = ["mid", "fmax_a"]       # [1][6] + [1][4]
        ns[node_index("cat")]["inputs"] = ["fmax_a", "conv_b"]
    expect_refused("add-shapes", with_nodes(add_shapes), "(res, add)", "input 1")

    def add_frames_vector(ns):
        ns.insert(9, dict(name="mix", type="add", inputs=["pool", "res"]))
        ns[node_index("dense", ns)]["inputs"] = ["mix"]
    expect_refused("add-vector-and-frames", with_nodes(add_frames_vector), "(mix, add)")

    def concat_bins(ns):
        ns[node_index("cat")]["inputs"] = ["bn_a", "conv_b"]      # [8][4] with [1][2]
        ns[node_index("fmax_a")]["inputs"] = ["bn_a"]
        ns.insert(6, dict(name="cat_fmax", type="freq_max", inputs=["cat"]))
        ns[node_index("mid", ns)]["inputs"] = ["cat_fmax"]
        ns[node_index("res", ns)]["inputs"] = ["mid", "cat_fmax"]
    expect_refused("concat-bins", with_nodes(concat_bins), "(cat, concat)", "input 1")

    def affine_channels(ns):
        ns[node_index("bn_a")].update(scale=f32(5), shift=f32(5))
    expect_refused("affine-channels", with_nodes(affine_channels), "(bn_a, affine)", "5 channels")

    def dense_size(ns):
        ns[node_index("dense")].update(weight=f32(3, 13))
    expect_refused("dense-size", with_nodes(dense_size), "(dense, dense)", "13 inputs", "12")

    def dense_on_frames(ns):
        ns[node_index("dense")].update(inputs=["res"], weight=f32(3, 6))
        del ns[node_index("pool", ns)]
    expect_refused("dense-on-frames", with_nodes(dense_on_frames), "(dense, dense)", "vector")

    def time_maxmean_bins(ns):
        ns[node_index("pool")]["inputs"] = ["bn_a"]               # [8][4]
        ns[node_index("dense")].update(weight=f32(3, 8))
    expect_refused("time-maxmean-bins", with_nodes(time_maxmean_bins), "(pool, time_maxmean)",
                   "one bin")

    def freq_max_vector(ns):
        ns.insert(9, dict(name="vmax", type="freq_max", inputs=["pool"]))
        ns[node_index("dense", ns)]["inputs"] = ["vmax"]
    expect_refused("freq-max-on-vector", with_nodes(freq_max_vector), "(vmax, freq_max)")

    def softmax_frames(ns):
        ns.insert(8, dict(name="fsm", type="softmax", inputs=["res"]))
        ns[node_index("pool", ns)]["inputs"] = ["fsm"]
    expect_refused("softmax-on-frames", with_nodes(softmax_frames), "(fsm, softmax)")

    # The output.
    expect_refused("output-dense", with_nodes(lambda ns: ns.pop()), "(dense)", "softmax or sigmoid")

    def output_relu(ns):
        ns[-1]["type"] = "relu"
    expect_refused("output-relu", with_nodes(output_relu), "(out)", "softmax or sigmoid")
    expect_refused("output-size", encode(labels=LABELS + ["rock"]), "(out)", "3 values", "4 labels")

    def unused(ns):
        ns.insert(4, dict(name="dead_end", type="relu", inputs=["conv_a"]))
    expect_refused("dead-end", with_nodes(unused), "(dead_end)", "does not lead to the output")

    def unused_last_but_one(ns):   # a second softmax nobody reads
        ns.insert(10, dict(name="other_out", type="softmax", inputs=["dense"]))
    expect_refused("second-output", with_nodes(unused_last_but_one), "(other_out)",
                   "does not lead to the output")

    # Names.
    expect_refused("duplicate-name", set_name(good, relu_a, b"conv_a"), "conv_a", "both named")
    expect_refused("name-control-byte", set_name(good, relu_a, b"relu\x07a"), "node 1",
                   "non-printable")
    expect_refused("name-high-byte", set_name(good, relu_a, b"relu\xc3\xa9"), "node 1",
                   "non-printable")
    expect_refused("name-empty", set_name(good, relu_a, b""), "node 1", "empty")
    expect_refused("name-unterminated", set_name(good, relu_a, b"r" * 32), "node 1",
                   "NUL-terminated")
    expect_refused("name-padding", set_name(good, relu_a, b"relu_a\0junk"), "node 1 (relu_a)",
                   "padding")

    # Sizes and parameters.
    # (n_fft 8192: 512 mel bands over 512 bins would leave bands without a
    # bin, which the loader refuses first.)
    huge_fe = dict(frontend(n_mels=512), n_fft=8192)
    huge = [conv("huge", ["input"], 8193, 1, 1, 1, 0, 0),        # 512 x 8193 > 2^22 floats
            dict(name="huge_fmax", type="freq_max", inputs=["huge"]),
            dict(name="pool", type="time_maxmean", inputs=["huge_fmax"]),
            dict(name="dense", type="dense", inputs=["pool"], weight=f32(3, 2 * 8193),
                 bias=f32(3)),
            dict(name="out", type="softmax", inputs=["dense"])]
    expect_refused("huge-conv-output", gmf.encode_model(huge_fe, LABELS, None, {}, nodes=huge),
                   "(huge, conv2d)", "exceeds")
    expect_refused("param-too-large", patch_node(good, "conv_a", PARAMS + 4, "<I", (1 << 20) + 1),
                   "node 0 (conv_a", "1048577")
    expect_refused("param-zero", patch_node(good, "conv_a", PARAMS + 8, "<I", 0),
                   "node 0 (conv_a", "parameter 2 is 0")
    expect_refused("conv-pad-t-kernel", patch_node(good, "conv_a", PARAMS + 16, "<I", 3),
                   "node 0 (conv_a", "padding")
    expect_refused("conv-pad-f-kernel", patch_node(good, "conv_a", PARAMS + 20, "<I", 3),
                   "node 0 (conv_a", "padding")
    expect_refused("conv-dims-vs-tensor", patch_node(good, "conv_a", PARAMS + 4, "<I", 5),
                   "conv_a", "weight")
    expect_refused("dense-dims-vs-tensor", patch_node(good, "dense", PARAMS, "<I", 11),
                   "dense", "weight")

    # Reserved bytes, unused parameters, unused input slots, stray tensors.
    for byte in (RESERVED, RESERVED + 11, 127):
        expect_refused(f"reserved-byte-{byte}", patch_node(good, "relu_a", byte, "<B", 1),
                       "node 1 (relu_a)", f"reserved byte {byte}")
    expect_refused("relu-unused-param", patch_node(good, "relu_a", PARAMS, "<I", 1),
                   "node 1 (relu_a)", "unused parameter 0")
    expect_refused("affine-unused-param", patch_node(good, "bn_a", PARAMS + 4, "<I", 7),
                   "(bn_a)", "unused parameter 1")
    expect_refused("dense-unused-param", patch_node(good, "dense", PARAMS + 20, "<I", 1),
                   "(dense)", "unused parameter 5")
    expect_refused("unused-input-slot", patch_node(good, "relu_a", INPUTS + 4, "<i", 5),
                   "node 1 (relu_a)", "unused input slot 1")
    expect_refused("unused-input-slot-7", patch_node(good, "res", INPUTS + 28, "<i", -1),
                   "(res)", "unused input slot 7")
    expect_refused("relu-with-tensor", patch_node(good, "relu_a", WEIGHT, "<i", 0),
                   "(relu_a", "no tensors")
    expect_refused("conv-tensor-index", patch_node(good, "conv_a", WEIGHT, "<i", 999),
                   "(conv_a", "999")
    expect_refused("conv-no-bias", patch_node(good, "conv_a", BIAS, "<i", -1),
                   "(conv_a", "-1")

    # The GRPH section itself.
    grph_off, grph_size, _ = sections(good)["GRPH"]
    expect_refused("node-count-zero", patch(good, grph_off, "<I", 0), "node count 0")
    expect_refused("node-count-257", patch(good, grph_off, "<I", 257), "node count 257")
    expect_refused("node-count-vs-size", patch(good, grph_off, "<I", len(GOOD_NODES) - 1),
                   "GRPH section")

    # Front-end and section mix-ups.
    frnt_off = sections(good)["FRNT"][0]
    expect_refused("mel-norm-7", patch(good, frnt_off + 40, "<I", 7), "mel normalisation 7")
    parts = split_sections(good)
    v1 = gmf.encode_model(
        {k: v for k, v in frontend().items() if k != "mel_norm"}, LABELS,
        [dict(type="global_meanmax"), dict(type="dense", weight=f32(3, 2), bias=f32(3)),
         dict(type="softmax")], {})
    layr = [p for p in split_sections(v1) if p[0] == b"LAYR"][0]
    expect_refused("v2-with-layr", gmf.assemble(parts[:3] + [layr] + parts[3:], version=2),
                   "LAYR")
    no_grph = [layr if p[0] == b"GRPH" else p for p in parts]
    expect_refused("v2-layr-instead-of-grph", gmf.assemble(no_grph, version=2), "GRPH")
    v1_parts = split_sections(v1)
    grph = [p for p in parts if p[0] == b"GRPH"][0]
    expect_refused("v1-with-grph", gmf.assemble(v1_parts[:3] + [grph] + v1_parts[3:], version=1),
                   "GRPH")
    expect_refused("v3", patch(good, 8, "<I", 3), "format version 3")
    # A version-2 header on a version-1 body: FRNT is 4 bytes short and GRPH is missing.
    expect_refused("v1-body-v2-header", patch(v1, 8, "<I", 2), "GRPH")


os.makedirs(tmpdir, exist_ok=True)
test_round_trip()
test_refusals()
sys.exit(summary())
