"""Loading a features index (written by the C tool genre-features) and making
training crops and evaluation windows from it.

index.csv: the manifest columns (file, label, and optionally split, source,
clip, artist) plus npy (path of a float32 [frames, n_mels] raw log-mel array,
relative to the index folder unless absolute), frames and seconds.
spec.json: the front-end parameters the features were made with.

A manifest without a split column (or a row with an empty split) gets the
deterministic split of hash_split(); without source every clip's source is
"unknown".
"""

import csv
import hashlib
import json
import os
import sys

from dataclasses import dataclass

import numpy as np

REQUIRED_COLUMNS = ("file", "label", "npy")
# Where a manifest names no split: this fraction of the clips is "valid",
# the rest "train".
DEFAULT_VALID_FRACTION = 0.2


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def command_line():
    """The running command as it can be typed again from the repository
    root, for provenance: `python3 -m train.<module> ARGS` (or the script
    path when not run with -m)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["-m", spec.name] if spec is not None else sys.argv[:1]
    return " ".join([sys.executable] + program + sys.argv[1:])


def hash_split(key, valid=DEFAULT_VALID_FRACTION, test=0.0):
    """"train", "valid" or "test" for key (a file path, or an artist for an
    artist-level split), from the sha256 of key: the same on every run and
    machine, and a clip keeps its split when others are added or removed."""
    u = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
    return "valid" if u < valid else "test" if u < valid + test else "train"


def row_split(row):
    """A manifest row's split: its own, else hash_split of its file."""
    return (row.get("split") or "").strip() or hash_split(row["file"])


class Clip:
    __slots__ = ("file", "label", "split", "source", "logmel", "label_index")

    def __init__(self, row, logmel):
        self.file = row["file"]
        self.label = row["label"]
        self.split = row_split(row)
        self.source = row.get("source", "") or "unknown"
        self.logmel = logmel  # float32 [frames, n_mels], raw ln(E + log_offset)
        self.label_index = -1


class FeatureSet:
    """All clips of one features folder, in memory."""

    def __init__(self, features_dir, splits=("train", "valid")):
        self.dir = features_dir
        index_path = os.path.join(features_dir, "index.csv")
        spec_path = os.path.join(features_dir, "spec.json")
        for path in (index_path, spec_path):
            if not os.path.isfile(path):
                raise SystemExit(f"error: {path} not found (run genre-features first, see doc/training.md)")
        with open(spec_path) as f:
            self.spec = json.load(f)
        for key in ("n_mels", "log_offset", "window_frames"):
            if key not in self.spec:
                raise SystemExit(f"error: {spec_path} has no '{key}'")
        self.n_mels = int(self.spec["n_mels"])
        self.window_frames = int(self.spec["window_frames"])
        self.log_offset = float(self.spec["log_offset"])
        self.index_sha256 = sha256_file(index_path)

        self.clips = []
        with open(index_path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SystemExit(f"error: {index_path} lacks column(s) {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                if row_split(row) not in splits:
                    continue
                npy = row["npy"]
                if not os.path.isabs(npy):
                    npy = os.path.join(features_dir, npy)
                try:
                    logmel = np.load(npy)
                except (OSError, ValueError) as e:
                    raise SystemExit(f"error: {index_path}:{line}: cannot read {npy}: {e}")
                if logmel.ndim != 2 or logmel.shape[1] != self.n_mels or logmel.shape[0] < 1:
                    raise SystemExit(f"error: {npy}: shape {logmel.shape}, expected [frames, {self.n_mels}]")
                if not np.all(np.isfinite(logmel)):
                    raise SystemExit(f"error: {npy}: non-finite values")
                self.clips.append(Clip(row, np.ascontiguousarray(logmel, dtype=np.float32)))
        if not self.clips:
            raise SystemExit(f"error: {index_path}: no clips in split(s) {', '.join(splits)}")

        # Labels come from the data, sorted, so any labelled collection works.
        self.labels = sorted({c.label for c in self.clips})
        for c in self.clips:
            c.label_index = self.labels.index(c.label)

    def split(self, name):
        return [c for c in self.clips if c.split == name]

    def band_centres_hz(self):
        """Centre frequency of each mel band (peak of its triangle), used by
        the band-limiting augmentation.  Only the mel-scale formula, not the
        front-end itself."""
        fmin, fmax = float(self.spec.get("fmin", 0.0)), float(self.spec.get("fmax", 8000.0))
        scale = self.spec.get("mel_scale", "slaney")
        if scale == "htk":
            to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
            to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
        else:
            step = np.log(6.4) / 27.0
            to_mel = lambda f: np.where(f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / step)
            to_hz = lambda m: np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((m - 15.0) * step))
        mels = np.linspace(to_mel(np.float64(fmin)), to_mel(np.float64(fmax)), self.n_mels + 2)
        return to_hz(mels)[1:-1].astype(np.float32)


def normalisation_stats(clips):
    """Per-band mean and standard deviation of raw log-mel over every frame of clips."""
    total = 0
    s = None
    ss = None
    for c in clips:
        x = c.logmel.astype(np.float64)
        s = x.sum(0) if s is None else s + x.sum(0)
        ss = (x * x).sum(0) if ss is None else ss + (x * x).sum(0)
        total += x.shape[0]
    mean = s / total
    std = np.sqrt(np.maximum(ss / total - mean * mean, 1e-12))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def window_starts(frames, window, hop):
    """Start frames of the evaluation windows of a clip: every hop while a
    whole window fits; a clip shorter than one window gives one (padded) window."""
    if frames <= window:
        return [0]
    return list(range(0, frames - window + 1, hop))


def crop(logmel, start, window):
    """Raw log-mel crop of `window` frames from `start` plus a validity mask.
    A clip shorter than the window is placed at the end, the missing rows
    (older rows, as in the C rolling window) are marked invalid; the caller
    sets them to 0 after normalisation, as the C window does."""
    frames = logmel.shape[0]
    out = np.empty((window, logmel.shape[1]), dtype=np.float32)
    valid = np.ones(window, dtype=bool)
    if frames >= window:
        out[:] = logmel[start:start + window]
    else:
        pad = window - frames
        out[:pad] = logmel.min()  # placeholder, masked out later
        out[pad:] = logmel
        valid[:pad] = False
    return out, valid


@dataclass
class SampledBatch:
    """One training batch as drawn: raw log-mel crops [B, window, n_mels]
    with their valid-frame masks [B, window], a second crop per row for
    power-domain mixing (the first one again where use_mix is false), and
    the genre indices of both crops."""
    crops: np.ndarray
    valid: np.ndarray
    crops2: np.ndarray
    valid2: np.ndarray
    use_mix: np.ndarray
    labels: np.ndarray
    labels2: np.ndarray


class BalancedSampler:
    """Draws training crops: genre uniformly, then a clip of that genre with
    weight n(genre, source)^-source_power (so a genre's minority sources are
    seen more often than their share), then a uniform random crop."""

    def __init__(self, clips, n_labels, window, rng, source_power=0.5):
        self.clips = clips
        self.window = window
        self.rng = rng
        self.by_label = [[] for _ in range(n_labels)]
        for i, c in enumerate(clips):
            self.by_label[c.label_index].append(i)
        self.present = [k for k in range(n_labels) if self.by_label[k]]
        self.weights = []
        for k in range(n_labels):
            idx = self.by_label[k]
            counts = {}
            for i in idx:
                counts[clips[i].source] = counts.get(clips[i].source, 0) + 1
            w = np.array([counts[clips[i].source] ** (-source_power) for i in idx], dtype=np.float64)
            self.weights.append(w / w.sum() if len(w) else w)

    def pick_clip(self, label):
        idx = self.by_label[label]
        return self.clips[idx[self.rng.choice(len(idx), p=self.weights[label])]]

    def random_crop(self, clip):
        frames = clip.logmel.shape[0]
        start = int(self.rng.integers(0, frames - self.window + 1)) if frames > self.window else 0
        return crop(clip.logmel, start, self.window)

    def batch(self, size, mix_prob, cross_prob=0.0):
        """A SampledBatch of `size` rows.  A row mixes with probability
        mix_prob + cross_prob; a mixed row's second crop is of another genre
        with probability cross_prob / (mix_prob + cross_prob), else of the
        same genre."""
        labels = self.rng.choice(self.present, size=size)
        labels2 = labels.copy()
        x = np.empty((size, self.window, self.clips[0].logmel.shape[1]), dtype=np.float32)
        x2 = np.empty_like(x)
        valid = np.empty((size, self.window), dtype=bool)
        valid2 = np.empty_like(valid)
        roll = self.rng.random(size)
        use_mix = roll < mix_prob + cross_prob
        cross = (roll >= mix_prob) & use_mix & (len(self.present) > 1)
        for b, label in enumerate(labels):
            x[b], valid[b] = self.random_crop(self.pick_clip(label))
            if cross[b]:
                others = [k for k in self.present if k != label]
                labels2[b] = others[int(self.rng.integers(0, len(others)))]
            if use_mix[b]:
                x2[b], valid2[b] = self.random_crop(self.pick_clip(labels2[b]))
            else:
                x2[b], valid2[b] = x[b], valid[b]
        return SampledBatch(x, valid, x2, valid2, use_mix, labels.astype(np.int64),
                            labels2.astype(np.int64))
