"""Train a temporal genre head on the frozen per-frame features of a
pretrained musicnn trunk (front-end + mid-end: 753 values per frame):
learned per-frame layers before the time pooling, then max and mean over
each 10-s window, then a dense layer (doc/training.md, "Transfer model").

  /usr/bin/python3 -m train.transfer_temporal \
      --trunk ../shared/pretrained/musicnn/MSD_musicnn.h5=EMB_MSD \
      --cache CACHE_DIR --out runs/temporal1 [--kernel 3] [--raw]

Every layer is a node type of the model file's graph (doc/model-format.md,
"GRPH"), so train/export_transfer.py writes the head as it was trained:

  frames [753]  -> conv k=1 (753 -> H, the input standardisation folded in)
                -> ReLU [-> conv k=K 'same' (H -> H) -> ReLU, + residual]
                -> max and mean over the window (2H)
  [+ the raw trunk's pooled 1506 values (--raw)]  -> dense -> 10

The per-frame trunk features are computed once per whole clip (zero
padding only at the clip's edges, as a stream has) and cached (float16);
training windows are cut from them with the context beyond the window's
edges that the --kernel convolution sees, masked outside the clip at the
convolution's input, as libgenre's stream does.  An ensemble of --members
heads averages their logits.  Sampling (genre- and source-balanced),
mixup (on the pooled vectors) and the metrics are transfer_head.py's.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

from . import musicnn
from .genre_data import command_line, sha256_file, window_starts
from .transfer import load_embeddings, summary
from .transfer_head import (WINDOW, add_head_options, balanced_weights, metrics_of, parse_trunk,
                            trunk_features)


def frame_features(weights, emb_dir, cache_dir):
    """(clips, labels, frames [total, 753] float16, offsets [clips + 1]):
    the trunk's per-frame output over every whole clip, cached by the
    inputs' hashes."""
    clips, labels = load_embeddings(emb_dir, mmap=True)
    key = f"{sha256_file(weights)[:16]}-{sha256_file(os.path.join(emb_dir, 'index.csv'))[:16]}"
    path = os.path.join(cache_dir, f"frames-{key}")
    offsets = np.concatenate([[0], np.cumsum([c.emb.shape[0] for c in clips])]).astype(np.int64)
    if not os.path.exists(path + ".npy"):
        try:
            net = musicnn.load_keras_weights(weights)
        except musicnn.HDF5Error as e:
            raise SystemExit(f"error: {e}")
        os.makedirs(cache_dir, exist_ok=True)
        out = np.lib.format.open_memmap(path + ".tmp.npy", mode="w+", dtype=np.float16,
                                        shape=(int(offsets[-1]), musicnn.POOLED_CHANNELS))
        with torch.no_grad():
            for i, c in enumerate(clips):
                f = net.mid(torch.from_numpy(np.ascontiguousarray(c.emb.T, dtype=np.float32))[None])[0]
                out[offsets[i]:offsets[i + 1]] = f.T.numpy().astype(np.float16)
        out.flush()
        del out
        os.replace(path + ".tmp.npy", path + ".npy")
    frames = np.load(path + ".npy")
    if frames.shape[0] != offsets[-1]:
        raise SystemExit(f"error: {path}.npy holds {frames.shape[0]} frames, the clips {offsets[-1]}")
    return clips, labels, frames, offsets


def masked_maxmean(y, pool):
    """y [B, C, L], pool [B, L] bool -> [B, 2C], max and mean over the pooled
    frames, interleaved like the graph's time_maxmean."""
    p = pool.unsqueeze(1)
    mx = torch.where(p, y, torch.full_like(y, torch.finfo(y.dtype).min)).amax(dim=2)
    mean = (y * p).sum(dim=2) / p.sum(dim=2).clamp(min=1)
    return torch.stack([mx, mean], dim=2).flatten(1)


class TemporalHead(nn.Module):
    """Standardised frames x [B, 753, L] (valid [B, L]: inside the clip;
    pool [B, L]: inside the window) -> pooled learned features [B, 2H];
    classify() takes them (and the standardised raw pooled values) to logits:
    one dense layer, or with mlp > 0 an MLP (dense, ReLU, dense) on both."""

    def __init__(self, n_in, n_labels, hidden, kernel, raw, input_dropout, dropout, mlp=0):
        super().__init__()
        self.in_drop = nn.Dropout1d(input_dropout)
        self.conv1 = nn.Conv1d(n_in, hidden, 1)
        self.kernel = kernel
        self.conv2 = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2) if kernel > 1 else None
        self.raw = raw
        self.raw_drop = nn.Dropout(input_dropout)
        self.drop = nn.Dropout(dropout)
        n_pool = 2 * hidden + (2 * n_in if raw else 0)
        self.mlp = nn.Linear(n_pool, mlp) if mlp else None
        self.out = nn.Linear(mlp or n_pool, n_labels)

    def pooled(self, x, valid, pool):
        h = torch.relu(self.conv1(self.in_drop(x)))
        if self.conv2 is not None:
            h = h * valid.unsqueeze(1).to(h.dtype)      # the conv's input: zero outside the clip
            h = torch.relu(self.conv2(h)) + h
        return masked_maxmean(h, pool)

    def classify(self, learned, raw=None):
        if self.mlp is not None:        # transfer_head.py's MLP, on both pooled vectors
            z = self.raw_drop(torch.cat([learned, raw], dim=1) if self.raw else learned)
            return self.out(self.drop(torch.relu(self.mlp(z))))
        z = self.drop(learned)
        if self.raw:
            z = torch.cat([z, self.raw_drop(raw)], dim=1)
        return self.out(z)


class Frames:
    """Windows cut from the cached whole-clip frames, standardised, with
    `context` frames beyond each edge (zero outside the clip)."""

    def __init__(self, frames, offsets, mu, sd, context):
        self.frames, self.offsets, self.context = frames, offsets, context
        self.mu = torch.from_numpy(mu.astype(np.float32))[None, :, None]
        self.sd = torch.from_numpy(sd.astype(np.float32))[None, :, None]

    def batch(self, picks):
        ctx = self.context
        length = WINDOW + 2 * ctx
        x = np.zeros((len(picks), length, self.frames.shape[1]), dtype=np.float32)
        valid = np.zeros((len(picks), length), dtype=bool)
        pool = np.zeros((len(picks), length), dtype=bool)
        for b, (ci, start) in enumerate(picks):
            o, n = self.offsets[ci], self.offsets[ci + 1] - self.offsets[ci]
            lo, hi = start - ctx, start + WINDOW + ctx
            a, z = max(lo, 0), min(hi, n)
            x[b, a - lo:z - lo] = self.frames[o + a:o + z]
            valid[b, a - lo:z - lo] = True
            pool[b, ctx:ctx + min(WINDOW, n - start)] = True
        raw = torch.from_numpy(x).transpose(1, 2)
        v = torch.from_numpy(valid)
        return raw, (raw - self.mu) / self.sd * v.unsqueeze(1), v, torch.from_numpy(pool)

    def clip(self, ci, exact=None):
        """A whole clip's frames [1, 753, T]: exact (float32, when given) or the cache's."""
        if exact is not None:
            raw = exact[None]
        else:
            raw = torch.from_numpy(self.frames[self.offsets[ci]:self.offsets[ci + 1]].astype(np.float32)).T[None]
        return raw, (raw - self.mu) / self.sd


def window_list(clips, offsets, split, hop):
    picks = []
    for ci, c in enumerate(clips):
        if c.split == split:
            picks += [(ci, s) for s in window_starts(int(offsets[ci + 1] - offsets[ci]), WINDOW, hop)]
    return picks


def raw_pooled(raw, pool, pmu, psd):
    return (masked_maxmean(raw, pool) - pmu) / psd


@torch.no_grad()
def valid_logits(net, data, clips, picks, pmu, psd, stride=1, exact=None):
    """Logits of the valid windows, the frame layers run over each whole
    clip (the stream's computation), then pooled per window."""
    net.eval()
    out = []
    for ci in sorted({ci for ci, _ in picks}):
        raw, x = data.clip(ci, None if exact is None else exact[ci])
        n = x.shape[2]
        starts = [s for c, s in picks if c == ci]
        pool = torch.zeros((len(starts), n), dtype=torch.bool)
        for j, s in enumerate(starts):
            pool[j, s:s + WINDOW:stride] = True
        h = torch.relu(net.conv1(x))
        if net.conv2 is not None:
            h = torch.relu(net.conv2(h)) + h
        h = h.expand(len(starts), -1, -1)
        learned = masked_maxmean(h, pool)
        full = torch.zeros((len(starts), n), dtype=torch.bool)   # the raw path: every frame
        for j, s in enumerate(starts):
            full[j, s:s + WINDOW] = True
        r = raw_pooled(raw.expand(len(starts), -1, -1), full, pmu, psd) if net.raw else None
        out.append(net.classify(learned, r))
    return torch.cat(out).numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trunk", required=True, metavar="WEIGHTS.h5=EMB_DIR")
    add_head_options(p, steps=1000, batch=32, hidden_help="learned per-frame channels H",
                     mixup_help="Beta(a, a) mixup of pooled vectors; 0 = off")
    p.add_argument("--kernel", type=int, default=1, help="second per-frame conv's kernel (1: none)")
    p.add_argument("--raw", action="store_true", help="also the raw trunk's pooled 1506 values")
    p.add_argument("--mlp", type=int, default=0,
                   help="hidden units of an MLP classifier on the pooled vectors (0: one dense layer)")
    p.add_argument("--frame-stride", type=int, default=1,
                   help="train on every S-th frame of a window (random phase; --kernel 1 only): "
                        "S times less work, evaluation on every frame")
    args = p.parse_args()
    if args.kernel < 1 or args.kernel % 2 == 0:
        raise SystemExit("error: --kernel must be odd")
    if args.frame_stride > 1 and args.kernel > 1:
        raise SystemExit("error: --frame-stride needs --kernel 1")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    weights, emb, trunk = parse_trunk(args.trunk)
    clips, labels, frames, offsets = frame_features(weights, emb, args.cache)
    train_picks = window_list(clips, offsets, "train", args.train_hop)
    valid_picks = window_list(clips, offsets, "valid", args.valid_hop)
    total, sq, n = np.zeros(frames.shape[1]), np.zeros(frames.shape[1]), 0
    for ci, c in enumerate(clips):
        if c.split == "train":
            f = frames[offsets[ci]:offsets[ci + 1]].astype(np.float64)
            total, sq, n = total + f.sum(0), sq + (f * f).sum(0), n + f.shape[0]
    mu = total / n
    sd = np.sqrt(np.maximum(sq / n - mu * mu, 0)) + 1e-6
    context = args.kernel // 2
    data = Frames(frames, offsets, mu, sd, context)
    # The raw path's standardisation: mean and deviation of the pooled
    # values over the training windows, as transfer_head.py's (its cache).
    pmu = psd = None
    if args.raw:
        _, _, pooled = trunk_features(weights, emb, args.cache, args.train_hop, args.valid_hop)
        pmu = torch.from_numpy(pooled["train"][0].mean(0).astype(np.float32))
        psd = torch.from_numpy((pooled["train"][0].std(0) + 1e-6).astype(np.float32))
        # The training windows' raw pooled values over every frame, whatever
        # --frame-stride the learned path trains with (same windows, same order).
        if not np.array_equal(pooled["train"][1], np.array([ci for ci, _ in train_picks])):
            raise SystemExit("error: the pooled cache's training windows differ from the frames'")
        raw_train = (torch.from_numpy(pooled["train"][0].astype(np.float32)) - pmu) / psd
    # Evaluation on the trunk's float32 frames (the float16 cache moves a few
    # windows across a decision boundary; these are what libgenre computes).
    try:
        trunk_net = musicnn.load_keras_weights(weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    with torch.no_grad():
        exact = {ci: trunk_net.mid(torch.from_numpy(np.ascontiguousarray(clips[ci].emb.T, dtype=np.float32))[None])[0]
                 for ci in sorted({ci for ci, _ in valid_picks})}
    print(f"features: {len(clips)} clips, {frames.shape[0]} frames, windows: train {len(train_picks)}, "
          f"valid {len(valid_picks)} ({time.time() - t0:.0f} s)", flush=True)

    owner_train = np.array([ci for ci, _ in train_picks])
    owner_valid = np.array([ci for ci, _ in valid_picks])
    y_train = np.array([clips[o].label_index for o in owner_train])
    src_train = np.array([clips[o].source for o in owner_train])
    w = balanced_weights(y_train, src_train, len(labels))
    n_in, n_labels = frames.shape[1], len(labels)

    members, logits = [], []
    for k in range(args.members):
        torch.manual_seed(args.seed + k)
        rng = np.random.default_rng(args.seed + k)
        net = TemporalHead(n_in, n_labels, args.hidden, args.kernel, args.raw, args.input_dropout,
                           args.dropout, args.mlp)
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                    pct_start=0.1)
        for step in range(args.steps):
            net.train()
            idx = rng.choice(len(train_picks), size=args.batch, p=w)
            raw, x, valid, pool = data.batch([train_picks[i] for i in idx])
            if args.frame_stride > 1:
                keep = slice(int(rng.integers(args.frame_stride)), None, args.frame_stride)
                raw, x, valid, pool = raw[:, :, keep], x[:, :, keep], valid[:, keep], pool[:, keep]
            y = nn.functional.one_hot(torch.from_numpy(y_train[idx]), n_labels).float()
            learned = net.pooled(x, valid, pool)
            r = raw_train[torch.from_numpy(idx)] if args.raw else None
            if args.mixup > 0:
                lam = torch.tensor(rng.beta(args.mixup, args.mixup, size=(args.batch, 1)), dtype=torch.float32)
                perm = torch.randperm(args.batch)
                learned = lam * learned + (1 - lam) * learned[perm]
                if r is not None:
                    r = lam * r + (1 - lam) * r[perm]
                y = lam * y + (1 - lam) * y[perm]
            loss = torch.sum(-y * torch.log_softmax(net.classify(learned, r), 1), 1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step == 19:
                print(f"member {k}: {(time.time() - t0):.0f} s at step 20", flush=True)
        logits.append(valid_logits(net, data, clips, valid_picks, pmu, psd, exact=exact))
        m = metrics_of(torch.softmax(torch.from_numpy(logits[-1]), 1).numpy(), owner_valid, clips, labels)
        print(f"member {k}: {summary(m)} ({time.time() - t0:.0f} s)", flush=True)
        if args.frame_stride > 1:      # what pooling every frame instead of every S-th costs
            ms = metrics_of(torch.softmax(torch.from_numpy(valid_logits(
                net, data, clips, valid_picks, pmu, psd, args.frame_stride, exact)), 1).numpy(), owner_valid, clips, labels)
            print(f"member {k}, learned path pooled as trained (every {args.frame_stride}th frame): "
                  f"{summary(ms)}", flush=True)
        members.append({kk: v.detach().numpy().copy() for kk, v in net.state_dict().items()})
    probs = torch.softmax(torch.from_numpy(np.mean(logits, axis=0)), 1).numpy()
    m = metrics_of(probs, owner_valid, clips, labels)
    print(f"ensemble of {args.members}: {summary(m)} ({time.time() - t0:.0f} s)")
    from .small_cnn import git_commit
    torch.save({"kind": "temporal", "trunks": [trunk], "labels": labels, "mu": mu, "sd": sd,
                "pooled_mu": None if pmu is None else pmu.numpy().astype(np.float64),
                "pooled_sd": None if psd is None else psd.numpy().astype(np.float64),
                "members": members, "metrics": m, "args": vars(args), "command": command_line(),
                "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
                "seconds": time.time() - t0, "window": WINDOW, "valid_probs": probs},
               os.path.join(args.out, "head.pt"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(m, f, indent=1)


if __name__ == "__main__":
    main()
