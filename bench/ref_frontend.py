#!/usr/bin/python3
"""NumPy/SciPy reference for the front-end benchmark, the same work as
bench/bench_frontend.c: 60 s of synthetic 44.1 kHz stereo, downmixed
(channel mean), resampled to 16 kHz (scipy.signal.resample_poly 160/441),
then the log-mel of doc/frontend.md as the project's NumPy reference
computes it (train/reference.py: whole signal at once, strided frames,
periodic Hann, rfft, power, dense slaney mel matrix with peak-1 triangles,
ln(E + offset)), in float32 as libgenre.
Prints one JSON object: {"seconds_audio", "median_s", "x_realtime", "frames",
"frontend_only_x_realtime"} -- the last times the log-mel step alone on the
16 kHz signal.
    PYTHONPATH=. /usr/bin/python3 bench/ref_frontend.py [--seconds S] [--runs R]"""

import argparse
import json
import time

import numpy as np

from train.reference import log_mel  # doc/frontend.md in NumPy

SPEC = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "n_mels": 96,
        "fmin": 0.0, "fmax": 8000.0, "mel_scale": "slaney", "mel_norm": "peak",
        "log_offset": 1e-3}


def bench_signal(seconds, rate):
    """Stereo tones, a sweep and noise, like bench_frontend.c's (the cost
    does not depend on the content)."""
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * rate)) / rate
    music = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1760 * t) + \
        0.1 * np.sin(2 * np.pi * (100 + 50 * t) * t)
    noise = 0.05 * (rng.random(len(t)) - 0.5)
    return np.stack([music + noise, 0.8 * music - noise], axis=1).astype(np.float32)


def main():
    from scipy.signal import resample_poly
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    spec = SPEC
    x = bench_signal(a.seconds, 44100)
    times, fe_times = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        mono = x.mean(axis=1)
        y = resample_poly(mono, 160, 441).astype(np.float32)
        t1 = time.perf_counter()
        # The mel matrix and window are set-up work in both engines; they are
        # timed here too and are negligible (one 96 x 257 matrix).
        out, _ = log_mel(y, spec, dtype=np.float32)
        t2 = time.perf_counter()
        times.append(t2 - t0)
        fe_times.append(t2 - t1)
    med = float(np.median(times))
    print(json.dumps({"seconds_audio": a.seconds, "median_s": med, "x_realtime": a.seconds / med,
                      "frames": int(out.shape[0]),
                      "frontend_only_x_realtime": a.seconds / float(np.median(fe_times))}))


if __name__ == "__main__":
    main()
