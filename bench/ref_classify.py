#!/usr/bin/python3
"""Python reference for the file-classification benchmark: what
genre-classify does, written with the usual Python tools -- soundfile
(libsndfile) to decode, a channel mean, scipy.signal.resample_poly to
16 kHz, the NumPy log-mel of train/reference.py, the model's normalisation,
10-s windows every --hop seconds (a clip shorter than one window is
zero-padded), the whole batch through the PyTorch module of the same model
file, mean of window probabilities.  Timed from the first file opened to the
last result (interpreter start and imports excluded).
Prints one JSON object: {"files", "audio_s", "wall_s", "x_realtime", "top"}.
    PYTHONPATH=. /usr/bin/python3 bench/ref_classify.py MODEL --threads N [--hop SECONDS] FILE..."""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_model  # noqa: E402
from train import reference  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("files", nargs="+")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hop", type=float, default=5.0)
    a = p.parse_args()

    import soundfile
    import torch
    from scipy.signal import resample_poly
    torch.set_num_threads(a.threads)

    model = bench_model.gmf.read_model(a.model)
    fe = dict(model["frontend"])
    rate, frames_per_window = int(fe["sample_rate"]), int(fe["window_frames"])
    net = bench_model.torch_module(model)
    mel = reference.mel_matrix(fe)
    mean = np.asarray(fe["norm_mean"], np.float32)
    inv_std = 1.0 / np.asarray(fe["norm_std"], np.float32)
    hop_frames = max(1, math.floor(a.hop * rate / int(fe["hop"]) + 0.5 - 1e-9))

    audio_s, top = 0.0, []
    t0 = time.perf_counter()
    for path in a.files:
        x, sr = soundfile.read(path, dtype="float32", always_2d=True)
        audio_s += len(x) / sr
        x = x.mean(axis=1)
        if sr != rate:
            g = math.gcd(int(sr), rate)
            x = resample_poly(x, rate // g, int(sr) // g).astype(np.float32)
        logmel = reference.log_mel(x, fe, dtype=np.float32, mel=mel)[0]
        feats = ((logmel - mean) * inv_std).astype(np.float32)
        if len(feats) < frames_per_window:
            feats = np.vstack([np.zeros((frames_per_window - len(feats), feats.shape[1]), np.float32), feats])
        starts = range(0, len(feats) - frames_per_window + 1, hop_frames)
        batch = np.stack([feats[s:s + frames_per_window] for s in starts])[:, None]
        with torch.inference_mode():
            probs = net(torch.from_numpy(batch)).numpy().mean(axis=0)
        top.append(model["labels"][int(np.argmax(probs))])
    wall = time.perf_counter() - t0
    print(json.dumps({"files": len(a.files), "audio_s": audio_s, "wall_s": wall,
                      "x_realtime": audio_s / wall, "top": top}))


if __name__ == "__main__":
    main()
