"""Helpers shared by the `train` suite tests (test_train_*.py): locate the
shared data, make features of a few real clips with genre-features, run the
C engine."""

import csv
import os
import shutil
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def skip(msg):
    """Exit 77, meson's "skipped": the shared data is not part of a tarball
    or a distribution build, and its absence is no failure of the code."""
    print(f"SKIP: {msg}")
    sys.exit(77)


def data_dir(arg):
    path = arg or os.path.join(REPO, "..", "shared", "data", "genres")
    if not os.path.isfile(os.path.join(path, "manifest.csv")):
        skip(f"shared data not found at {path} (no manifest.csv; meson option shared_dir)")
    return os.path.abspath(path)


def manifest_rows(data):
    with open(os.path.join(data, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def make_features(tool, data, rows, workdir, flags=(), expect_failed=False):
    """Write a manifest of `rows` (absolute audio paths) and run genre-features
    (with extra `flags`) on it; returns the manifest and the features folder."""
    manifest = os.path.join(workdir, "manifest.csv")
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            r = dict(r)
            r["file"] = os.path.join(data, r["file"]) if not os.path.isabs(r["file"]) else r["file"]
            w.writerow(r)
    out = os.path.join(workdir, "features")
    if expect_failed:   # some rows are not decodable: genre-features exits 1
        proc = subprocess.run([str(c) for c in (tool, *flags, manifest, out)], capture_output=True,
                              text=True)
        if proc.returncode != 1:
            fail(f"genre-features exited {proc.returncode}, expected 1: {proc.stderr.strip()[-500:]}")
    else:
        run([tool, *flags, manifest, out])
    return manifest, out


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        fail(f"{' '.join(str(c) for c in cmd)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def net_eval_run(net_eval, model_path, windows, workdir):
    """Probabilities the C engine (tests/support/net_eval) gives for windows
    [K, frames, n_mels]."""
    path = os.path.join(workdir, "windows.f32")
    np.ascontiguousarray(windows, dtype="<f4").tofile(path)
    out = run([net_eval, model_path, path])
    return np.array([[float(v) for v in line.split()] for line in out.splitlines() if line.strip()])


def real_windows(logmel, mean, std, frames):
    """Three normalised windows from real features: the start, the end, and
    a short stretch padded with zeros in front (as the C rolling window does
    before it is full)."""
    x = (logmel - mean) / std
    if x.shape[0] < frames:
        fail(f"test clip too short: {x.shape[0]} frames")
    short = np.zeros((frames, x.shape[1]), dtype=np.float32)
    short[frames - 200:] = x[:200]
    return np.stack([x[:frames], x[-frames:], short]).astype(np.float32)
