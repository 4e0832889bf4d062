#!/usr/bin/python3
"""NumPy/SciPy reference for the front-end benchmark, the same work as
bench/bench_frontend.c: 60 s of synthetic 44.1 kHz stereo, downmixed
(channel mean), resampled to 16 kHz (scipy.signal.resample_poly 160/441),
then the log-mel of doc/frontend.md written the way one would in NumPy
(whole signal at once: strided frames, periodic Hann, rfft, power, dense
slaney mel matrix with peak-1 triangles, ln(E + offset)).
Prints one JSON object: {"seconds_audio", "median_s", "x_realtime", "frames",
"frontend_only_x_realtime"} -- the last times the log-mel step alone on the
16 kHz signal.
    ref_frontend.py [--seconds S] [--runs R]"""

import argparse
import json
import time

import numpy as np

SPEC = {"sample_rate": 16000, "n_fft": 512, "hop": 256, "n_mels": 96,
        "fmin": 0.0, "fmax": 8000.0, "log_offset": 1e-3}


def hz_to_mel(f):
    """Slaney: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) * 27.0 / np.log(6.4))


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * np.log(6.4) / 27.0))


def mel_matrix(spec):
    n_bins = spec["n_fft"] // 2 + 1
    edges = mel_to_hz(np.linspace(hz_to_mel(spec["fmin"]), hz_to_mel(spec["fmax"]), spec["n_mels"] + 2))
    f = np.arange(n_bins) * spec["sample_rate"] / spec["n_fft"]
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (f - lo) / (mid - lo)
    down = (hi - f) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))            # [n_mels, n_bins]


def log_mel(signal, spec, mel, window):
    n_fft, hop = spec["n_fft"], spec["hop"]
    n_frames = 1 + (len(signal) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        signal, shape=(n_frames, n_fft), strides=(signal.strides[0] * hop, signal.strides[0]))
    spectrum = np.fft.rfft(frames * window, axis=1)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    return np.log(power @ mel.T + spec["log_offset"])


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
    n = spec["n_fft"]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic Hann
    times, fe_times = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        mono = x.mean(axis=1)
        y = resample_poly(mono, 160, 441).astype(np.float32)
        t1 = time.perf_counter()
        # The mel matrix is set-up work in both engines; it is timed here
        # too and is negligible (one 96 x 257 matrix).
        out = log_mel(y, spec, mel_matrix(spec), window)
        t2 = time.perf_counter()
        times.append(t2 - t0)
        fe_times.append(t2 - t1)
    med = float(np.median(times))
    print(json.dumps({"seconds_audio": a.seconds, "median_s": med, "x_realtime": a.seconds / med,
                      "frames": int(out.shape[0]),
                      "frontend_only_x_realtime": a.seconds / float(np.median(fe_times))}))


if __name__ == "__main__":
    main()
