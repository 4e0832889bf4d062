"""Round trip: models written by train/genre_model_file.py are loaded by the
C loader (through tests/model_dump) and by read_model; every field must come
back bit-exact.  Usage: test_model_roundtrip.py SOURCE_ROOT MODEL_DUMP_EXE TMPDIR"""
import json
import os
import subprocess
import sys

import numpy as np

from train import genre_model_file as gmf

source_root, dump_exe, tmpdir = sys.argv[1:4]

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import checklist  # noqa: E402
from checklist import check, summary  # noqa: E402

checklist.verbose = False  # thousands of checks: print failures only

WINDOW_CODES = {"hann": 1}
MEL_CODES = {"slaney": 1, "htk": 2}
TYPE_CODES = gmf.LAYER_TYPES




def same_f32(a, b):
    a = np.asarray(a, dtype=np.float32).ravel()
    b = np.asarray(b, dtype=np.float32).ravel()
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def random_model(rng, case):
    n_mels = int(rng.integers(1, 40))
    frames = int(rng.integers(8, 60))
    rate = int(rng.choice([8000, 16000, 22050, 44100, 192000]))
    n_fft = int(rng.choice([64, 256, 512, 2048, 16384]))
    fmax = float(np.float32(rate / 2 * rng.uniform(0.5, 1.0)))
    fe = dict(sample_rate=rate, n_fft=n_fft, hop=int(rng.integers(1, n_fft + 1)), window="hann",
              n_mels=n_mels, fmin=float(np.float32(rng.uniform(0, fmax / 2))), fmax=fmax,
              mel_scale=["slaney", "htk"][case % 2], log_offset=float(np.float32(10 ** rng.uniform(-8, 1))),
              window_frames=frames,
              norm_mean=rng.standard_normal(n_mels).astype(np.float32) * 5,
              norm_std=(rng.random(n_mels) * 3 + 1e-3).astype(np.float32))
    n_labels = int(rng.integers(1, 12))
    labels = [f"genre{i}" for i in range(n_labels)]
    labels[0] = ["blues", "música", "ジャズ", "hip hop/rap"][case % 4]
    c1, c2 = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layers = [dict(type="conv2d", weight=rng.standard_normal((c1, 1, kh, kw)).astype(np.float32),
                   bias=rng.standard_normal(c1).astype(np.float32), pad=(kh // 2, kw // 2)),
              dict(type="relu")]
    h, w = frames + 2 * (kh // 2) - kh + 1, n_mels + 2 * (kw // 2) - kw + 1
    ph, pw = min(2, h), min(2, w)
    layers.append(dict(type="maxpool2d", kernel=(ph, pw)))
    h, w = h // ph, w // pw
    layers.append(dict(type="conv2d", weight=rng.standard_normal((c2, c1, 1, 1)).astype(np.float32),
                       bias=rng.standard_normal(c2).astype(np.float32), pad=(0, 0)))
    if case % 3 == 0:
        n_in = c2 * h * w           # dense straight on the [C][H][W] activation
    else:
        layers.append(dict(type="global_meanmax"))
        n_in = 2 * c2
    layers += [dict(type="dense", weight=rng.standard_normal((7, n_in)).astype(np.float32),
                    bias=rng.standard_normal(7).astype(np.float32)),
               dict(type="relu"),
               dict(type="dense", weight=rng.standard_normal((n_labels, 7)).astype(np.float32),
                    bias=rng.standard_normal(n_labels).astype(np.float32)),
               dict(type="softmax")]
    meta = {"data_manifest_sha256": "%064x" % int(rng.integers(0, 2**62)), "training_commit": "abc123",
            "date": "2026-11-24T17:00:00Z", "valid_accuracy": "0.5", "note": "a=b = c ü"}
    if case == 5:
        meta = {}
    return fe, labels, layers, meta


def compare(case, fe, labels, layers, meta, dumped, read):
    tag = f"case {case}"
    d = dumped["frontend"]
    for key in ("sample_rate", "n_fft", "hop", "n_mels", "window_frames"):
        check(d[key] == fe[key], f"{tag}: C frontend.{key} {d[key]} != {fe[key]}")
    check(d["window"] == WINDOW_CODES[fe["window"]], f"{tag}: C window")
    check(d["mel_scale"] == MEL_CODES[fe["mel_scale"]], f"{tag}: C mel_scale")
    for key in ("fmin", "fmax", "log_offset", "norm_mean", "norm_std"):
        check(same_f32(d[key], fe[key]), f"{tag}: C frontend.{key} differs")
    check(dumped["labels"] == labels, f"{tag}: C labels {dumped['labels']} != {labels}")
    check(len(dumped["layers"]) == len(layers), f"{tag}: C layer count")
    for i, (dl, l) in enumerate(zip(dumped["layers"], layers)):
        check(dl["type"] == TYPE_CODES[l["type"]], f"{tag}: C layer {i} type")
        p = dl["p"]
        if l["type"] == "conv2d":
            o, c, kh, kw = l["weight"].shape
            check(p == [c, o, kh, kw, *l["pad"]], f"{tag}: C layer {i} params {p}")
        elif l["type"] == "dense":
            o, n = l["weight"].shape
            check(p == [n, o, 0, 0, 0, 0], f"{tag}: C layer {i} params {p}")
        elif l["type"] == "maxpool2d":
            check(p == [*l["kernel"], 0, 0, 0, 0], f"{tag}: C layer {i} params {p}")
        else:
            check(p == [0] * 6, f"{tag}: C layer {i} params {p}")
        if "weight" in l:
            check(same_f32(dl["weight"], l["weight"]), f"{tag}: C layer {i} weight")
            check(same_f32(dl["bias"], l["bias"]), f"{tag}: C layer {i} bias")
        else:
            check("weight" not in dl, f"{tag}: C layer {i} has a weight")
    expect_meta = "".join(f"{k}={v}\n" for k, v in meta.items())
    check(dumped["meta"] == expect_meta, f"{tag}: C meta {dumped['meta']!r}")
    check(dumped["format_version"] == 1, f"{tag}: C format_version")
    check(dumped["crc32"] == read["crc32"], f"{tag}: CRC C {dumped['crc32']} Python {read['crc32']}")

    # The Python reader gives back what was written.
    r = read["frontend"]
    for key, value in fe.items():
        if isinstance(value, np.ndarray) or isinstance(value, float):
            check(same_f32(r[key], value), f"{tag}: read_model frontend.{key}")
        else:
            check(r[key] == value, f"{tag}: read_model frontend.{key} {r[key]} != {value}")
    check(read["labels"] == labels, f"{tag}: read_model labels")
    check(read["meta"] == {k: str(v) for k, v in meta.items()}, f"{tag}: read_model meta")
    for i, (rl, l) in enumerate(zip(read["layers"], layers)):
        check(rl["type"] == l["type"], f"{tag}: read_model layer {i} type")
        for key in ("weight", "bias"):
            if key in l:
                check(rl[key].shape == l[key].shape and same_f32(rl[key], l[key]),
                      f"{tag}: read_model layer {i} {key}")
        for key in ("pad", "kernel"):
            if key in l:
                check(tuple(rl[key]) == tuple(l[key]), f"{tag}: read_model layer {i} {key}")


rng = np.random.default_rng(20261124)
os.makedirs(tmpdir, exist_ok=True)
for case in range(12):
    fe, labels, layers, meta = random_model(rng, case)
    path = os.path.join(tmpdir, f"roundtrip{case}.gmdl")
    gmf.write_model(path, fe, labels, layers, meta)
    out = subprocess.run([dump_exe, path], capture_output=True, text=True)
    if out.returncode != 0:
        check(False, f"case {case}: C loader refused a written model: {out.stderr.strip()}")
        continue
    compare(case, fe, labels, layers, meta, json.loads(out.stdout), gmf.read_model(path))
    # The file is exactly what encode_model produces: writing is deterministic.
    with open(path, "rb") as f:
        check(f.read() == gmf.encode_model(fe, labels, layers, meta), f"case {case}: not deterministic")

sys.exit(summary())
