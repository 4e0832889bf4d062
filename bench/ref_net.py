#!/usr/bin/python3
"""PyTorch reference for the one-window inference benchmark: the same model
file's weights in an equivalent torch module (train/reference.py's torch_module),
timed per window with the given thread count.  Prints one JSON object:
{"threads", "runs", "median_ms", "p99_ms", "probs"}; probs are those of a
fixed pseudo-random window so bench/run can check that libgenre computes
the same function.
    PYTHONPATH=. /usr/bin/python3 bench/ref_net.py MODEL --threads N [--runs R] [--window FILE.f32]"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_model  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--window", help="raw little-endian float32 window (frames x mels) to report probs for")
    a = p.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    model = bench_model.gmf.read_model(a.model)
    fe = model["frontend"]
    frames, mels = int(fe["window_frames"]), int(fe["n_mels"])
    net = bench_model.torch_module(model)
    if a.window:
        x = np.fromfile(a.window, dtype="<f4").reshape(frames, mels)
    else:
        x = np.random.default_rng(0).standard_normal((frames, mels)).astype(np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x)).reshape(1, 1, frames, mels)

    times = []
    with torch.inference_mode():
        probs = net(xt)[0].numpy().astype(float).tolist()
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            net(xt)
            dt = time.perf_counter() - t0
            if i >= a.warmup:
                times.append(dt * 1e3)
    times = np.array(times)
    print(json.dumps({"threads": a.threads, "runs": a.runs,
                      "median_ms": float(np.median(times)),
                      "p99_ms": float(np.percentile(times, 99)),
                      "probs": probs}))


if __name__ == "__main__":
    main()
