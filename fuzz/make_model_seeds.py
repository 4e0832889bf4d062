"""Writes the seed corpus of the model fuzz target: tiny but valid model
files (a few KiB) made by the project's own writer, train/genre_model_file.py,
covering every layer type, both mel scales, with an identity and a real normalisation,
odd label names and provenance text.  Tiny front-ends (16 frames x 8 mels)
keep each net run in the fuzzer well under a millisecond.  The graph-*
seeds are version-2 files (a graph of nodes, both mel normalisations):
every node type, branches, a residual add, two pools, both outputs.
    PYTHONPATH=. /usr/bin/python3 fuzz/make_model_seeds.py OUTDIR"""

import os
import sys
import zlib

import numpy as np

from train import genre_model_file as gmf


def frontend(n_mels=8, frames=16, scale="slaney", norm=True):
    fe = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "window": "hann",
          "n_mels": n_mels, "fmin": 0.0, "fmax": 8000.0, "mel_scale": scale,
          "log_offset": 1e-3, "window_frames": frames}
    # Every model file carries normalisation; norm=False writes the identity.
    fe["norm_mean"] = np.linspace(-5, 0, n_mels).astype(np.float32) if norm else np.zeros(n_mels, np.float32)
    fe["norm_std"] = np.linspace(1, 2, n_mels).astype(np.float32) if norm else np.ones(n_mels, np.float32)
    return fe


def conv(rng, in_c, out_c, k=3, pad=1):
    return {"type": "conv2d", "weight": rng.standard_normal((out_c, in_c, k, k)).astype(np.float32) * 0.3,
            "bias": rng.standard_normal(out_c).astype(np.float32) * 0.1, "pad": (pad, pad)}


def dense(rng, n_in, n_out):
    return {"type": "dense", "weight": rng.standard_normal((n_out, n_in)).astype(np.float32) * 0.3,
            "bias": rng.standard_normal(n_out).astype(np.float32) * 0.1}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    labels3 = ["blues", "jazz", "metal"]
    cnn = [conv(rng, 1, 2), {"type": "relu"}, {"type": "maxpool2d", "kernel": (2, 2)},
           conv(rng, 2, 4), {"type": "relu"}, {"type": "maxpool2d", "kernel": (2, 2)},
           {"type": "global_meanmax"}, dense(rng, 8, 3), {"type": "softmax"}]
    seeds = {
        "cnn-norm.gmdl": (frontend(), labels3, cnn, {"arch": "seed", "trained": "never"}),
        "cnn-raw-htk.gmdl": (frontend(scale="htk", norm=False), labels3, cnn, {}),
        "cnn-nopad-hidden.gmdl": (
            frontend(n_mels=12, frames=20), ["a", "b"],
            [conv(rng, 1, 3, k=3, pad=0), {"type": "relu"}, {"type": "maxpool2d", "kernel": (3, 2)},
             {"type": "global_meanmax"}, dense(rng, 6, 4), {"type": "relu"}, dense(rng, 4, 2),
             {"type": "softmax"}],
            {"note": "no padding, a hidden dense layer", "empty": ""}),
        "meanmax-only.gmdl": (
            frontend(n_mels=4, frames=4), ["only"],
            [{"type": "global_meanmax"}, dense(rng, 2, 1), {"type": "softmax"}], {}),
        "utf8-labels.gmdl": (
            frontend(), ["música", "日本の", "r&b \"soul\"", "x" * 200],
            [conv(rng, 1, 1, k=1, pad=0), {"type": "global_meanmax"}, dense(rng, 2, 4),
             {"type": "softmax"}],
            {"trained": "2024-01-01", "data": "none\tat all"}),
    }
    for name, (fe, labels, layers, meta) in seeds.items():
        gmf.write_model(os.path.join(out, name), fe, labels, layers, meta)
    # Version 2, from a generator of their own so the seeds above stay as they were.
    for name, (fe, labels, nodes, meta) in graph_seeds(np.random.default_rng(8)).items():
        if name.startswith("graph-two-pools"):
            # fuzz_model.c also runs a graph with 2 threads when its CRC is
            # 0 mod 8: salt this seed's provenance until it is.
            for salt in range(1000):
                meta = {"salt": str(salt)}
                image = gmf.encode_model(fe, labels, None, meta, nodes=nodes)
                if zlib.crc32(image[:-4]) & 7 == 0:
                    break
        gmf.write_model(os.path.join(out, name), fe, labels, None, meta, nodes=nodes)


def graph_seeds(rng):
    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def conv(name, src, out_c, in_c, kt, kf, pad_t, pad_f):
        return {"name": name, "type": "conv2d", "inputs": [src], "weight": w(out_c, in_c, kt, kf),
                "bias": w(out_c), "pad_t": pad_t, "pad_f": pad_f}

    def dense(name, src, n_in, n_out):
        return {"name": name, "type": "dense", "inputs": [src], "weight": w(n_out, n_in),
                "bias": w(n_out)}

    def fe(n_mels=8, frames=16, mel_norm="peak"):
        f = frontend(n_mels, frames)
        f["mel_norm"] = mel_norm
        return f

    branchy = [
        conv("timbre", "input", 3, 1, 3, 3, 1, 1),                      # [8][3]
        {"name": "timbre_relu", "type": "relu", "inputs": ["timbre"]},
        {"name": "timbre_bn", "type": "affine", "inputs": ["timbre_relu"],
         "scale": w(3) + 1, "shift": w(3)},
        {"name": "timbre_max", "type": "freq_max", "inputs": ["timbre_bn"]},  # [1][3]
        conv("temporal", "input", 2, 1, 5, 8, 2, 0),                    # [1][2]
        {"name": "front", "type": "concat", "inputs": ["timbre_max", "temporal"]},  # [1][5]
        conv("mid", "front", 5, 5, 3, 1, 2, 0),
        {"name": "mid_relu", "type": "relu", "inputs": ["mid"]},
        {"name": "res", "type": "add", "inputs": ["mid_relu", "front"]},
        {"name": "pool", "type": "time_maxmean", "inputs": ["res"]},    # 10
        dense("hidden", "pool", 10, 6),
        {"name": "hidden_bn", "type": "affine", "inputs": ["hidden"], "scale": w(6) + 1,
         "shift": w(6)},
        {"name": "hidden_relu", "type": "relu", "inputs": ["hidden_bn"]},
        dense("logits", "hidden_relu", 6, 3),
        {"name": "probs", "type": "softmax", "inputs": ["logits"]},
    ]
    two_pools = [
        {"name": "x", "type": "relu", "inputs": ["input"]},
        conv("a", "x", 2, 1, 3, 3, 2, 1),
        {"name": "a_max", "type": "freq_max", "inputs": ["a"]},
        conv("b", "x", 2, 1, 4, 8, 0, 0),
        {"name": "pa", "type": "time_maxmean", "inputs": ["a_max"]},
        {"name": "pb", "type": "time_maxmean", "inputs": ["b"]},
        {"name": "pools", "type": "concat", "inputs": ["pa", "pb"]},
        dense("d", "pools", 8, 2),
        {"name": "tags", "type": "sigmoid", "inputs": ["d"]},
    ]
    vectors = [
        {"name": "band_max", "type": "freq_max", "inputs": ["input"]},
        {"name": "pool", "type": "time_maxmean", "inputs": ["band_max"]},   # 2
        dense("d1", "pool", 2, 4),
        dense("d2", "pool", 2, 4),
        {"name": "sum", "type": "add", "inputs": ["d1", "d2"]},
        {"name": "both", "type": "concat", "inputs": ["sum", "d1", "pool"]},  # 10
        {"name": "both_relu", "type": "relu", "inputs": ["both"]},
        dense("logits", "both_relu", 10, 2),
        {"name": "out", "type": "sigmoid", "inputs": ["logits"]},
    ]
    one_band = [
        {"name": "pool", "type": "time_maxmean", "inputs": ["input"]},
        dense("d", "pool", 2, 2),
        {"name": "out", "type": "softmax", "inputs": ["d"]},
    ]
    return {
        "graph-branchy-area.gmdl": (fe(mel_norm="area"), ["blues", "jazz", "metal"], branchy,
                                    {"arch": "graph seed", "trained": "never"}),
        "graph-two-pools-sigmoid.gmdl": (fe(frames=12), ["voice", "drums"], two_pools, {}),
        "graph-vector-ops.gmdl": (fe(n_mels=4, frames=6), ["a", "b"], vectors, {"note": "vectors"}),
        "graph-one-band.gmdl": (fe(n_mels=1, frames=3), ["x", "y"], one_band, {}),
    }


if __name__ == "__main__":
    main()
