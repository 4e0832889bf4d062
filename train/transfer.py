"""Train a genre model on top of a pretrained musicnn (transfer learning).

The front-end (96 % of musicnn's work) stays frozen: train/embed.py has run
it over every clip, frame by frame as libgenre's stream classifier does.
This trains the mid-end and back-end from their pretrained weights (or
keeps them frozen) and a new genre head, on 10-s windows cut from the
whole-clip embeddings, so each window sees the context beyond its edges
that a live stream has (doc/training.md, "Transfer model").

  /usr/bin/python3 -m train.transfer --emb EMB_DIR \
      --weights ../shared/pretrained/musicnn/MSD_musicnn.h5 --mode midend --out runs/t1

--mode head    only the new output layer (pooled features and the 200-unit
               embedding frozen)
--mode backend the back-end (batch norms, dense 200) and the head
--mode midend  also the three mid-end convolutions
"""

import argparse
import csv
import json
import os
import time

import numpy as np
import torch
from torch import nn

from . import musicnn
from .genre_data import command_line, row_split, sha256_file, window_starts
from .genre_metrics import source_spread, window_metrics

MID_CONTEXT = 9     # 3 convs of kernel 7: frames beyond a window that reach it


class EmbClip:
    __slots__ = ("file", "label", "split", "source", "emb", "label_index")


def load_embeddings(emb_dir, splits=("train", "valid"), mmap=False):
    """Clips of the splits with their front-end embeddings [frames, 561]
    (memory-mapped with mmap=True: read only where used)."""
    index = os.path.join(emb_dir, "index.csv")
    if not os.path.isfile(index):
        raise SystemExit(f"error: {index} not found (run python3 -m train.embed first)")
    clips = []
    with open(index, newline="") as f:
        for row in csv.DictReader(f):
            if row_split(row) not in splits:
                continue
            c = EmbClip()
            c.file, c.label, c.split = row["file"], row["label"], row_split(row)
            c.source = row.get("source") or "unknown"
            path = row["npy"] if os.path.isabs(row["npy"]) else os.path.join(emb_dir, row["npy"])
            c.emb = np.load(path, mmap_mode="r" if mmap else None)
            if c.emb.ndim != 2 or c.emb.shape[1] != musicnn.FRONTEND_CHANNELS:
                raise SystemExit(f"error: {path}: shape {c.emb.shape}")
            clips.append(c)
    labels = sorted({c.label for c in clips})
    for c in clips:
        c.label_index = labels.index(c.label)
    return clips, labels


class GenreHead(nn.Module):
    """Mid-end + back-end of musicnn with a new output layer, on windows of
    front-end embeddings with their context: x [B, 561, L] (zero outside the
    clip), valid [B, L] (inside the clip), pool [B, L] (inside the window)."""

    def __init__(self, pretrained, n_labels, dropout, head="musicnn", hidden=256):
        super().__init__()
        self.mid = pretrained.mid
        self.back = pretrained.back
        self.back.dropout = nn.Dropout(dropout)
        self.back.out = nn.Linear(200, n_labels)
        self.head = head
        if head == "mlp":
            # musicnn's pooled batch norm, then a new MLP (what transfer_head.py
            # trains on the frozen trunk, here with the mid-end learning too).
            self.mlp = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * musicnn.POOLED_CHANNELS, hidden),
                                     nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_labels))

    def midend(self, x, valid):
        # Each conv's input is zero outside the clip, as in the stream.
        m = valid.unsqueeze(1).to(x.dtype)
        mid = self.mid
        m1 = mid.bns[0](torch.relu(mid.convs[0](x))) * m
        m2 = (mid.bns[1](torch.relu(mid.convs[1](m1))) + m1) * m
        m3 = (mid.bns[2](torch.relu(mid.convs[2](m2))) + m2) * m
        return torch.cat([x, m1, m2, m3], dim=1)

    def forward(self, x, valid, pool):
        y = self.midend(x, valid)
        p = pool.unsqueeze(1)
        neg = torch.finfo(y.dtype).min
        mx = torch.where(p, y, torch.full_like(y, neg)).amax(dim=2)
        mean = (y * p).sum(dim=2) / p.sum(dim=2).clamp(min=1)
        pooled = torch.stack([mx, mean], dim=2).flatten(1)
        if self.head == "mlp":
            return self.mlp(self.back.bn_pool(pooled))
        return self.back(pooled)


def window_batch(clips, picks, window):
    """picks: (clip index, start frame).  Returns x [B, 561, window + 2 ctx],
    valid and pool masks."""
    length = window + 2 * MID_CONTEXT
    x = np.zeros((len(picks), musicnn.FRONTEND_CHANNELS, length), dtype=np.float32)
    valid = np.zeros((len(picks), length), dtype=bool)
    pool = np.zeros((len(picks), length), dtype=bool)
    for b, (ci, start) in enumerate(picks):
        emb = clips[ci].emb
        n = emb.shape[0]
        lo, hi = start - MID_CONTEXT, start + window + MID_CONTEXT
        a, z = max(lo, 0), min(hi, n)
        x[b, :, a - lo:z - lo] = emb[a:z].T
        valid[b, a - lo:z - lo] = True
        pool[b, MID_CONTEXT:MID_CONTEXT + min(window, n - start)] = True
    return torch.from_numpy(x), torch.from_numpy(valid), torch.from_numpy(pool)


class Sampler:
    """Genre uniformly, then a clip with weight n(genre, source)^-0.5, then a
    uniform start (a clip shorter than the window is one window)."""

    def __init__(self, clips, n_labels, window, rng, source_power=0.5):
        self.clips, self.window, self.rng = clips, window, rng
        self.by_label = [[i for i, c in enumerate(clips) if c.label_index == k] for k in range(n_labels)]
        self.present = [k for k in range(n_labels) if self.by_label[k]]
        self.weights = []
        for idx in self.by_label:
            counts = {}
            for i in idx:
                counts[clips[i].source] = counts.get(clips[i].source, 0) + 1
            w = np.array([counts[clips[i].source] ** -source_power for i in idx])
            self.weights.append(w / w.sum() if len(w) else w)

    def draw(self, size):
        labels = self.rng.choice(self.present, size=size)
        picks = []
        for k in labels:
            i = self.by_label[k][self.rng.choice(len(self.by_label[k]), p=self.weights[k])]
            n = self.clips[i].emb.shape[0]
            start = int(self.rng.integers(0, n - self.window + 1)) if n > self.window else 0
            picks.append((i, start))
        return picks, torch.from_numpy(labels.astype(np.int64))


@torch.no_grad()
def evaluate(model, clips, labels, window, hop, batch=32):
    model.eval()
    picks, owner = [], []
    for ci, c in enumerate(clips):
        for s in window_starts(c.emb.shape[0], window, hop):
            picks.append((ci, s))
            owner.append(ci)
    probs = []
    for i in range(0, len(picks), batch):
        x, v, p = window_batch(clips, picks[i:i + batch], window)
        probs.append(torch.softmax(model(x, v, p), dim=1).numpy())
    probs = np.concatenate(probs)
    owner = np.array(owner)
    clip_probs = np.stack([probs[owner == ci].mean(0) for ci in range(len(clips))])
    m = window_metrics(labels, len(labels), [clips[o].label_index for o in owner], probs.argmax(1),
                       [clips[o].source for o in owner], [c.label_index for c in clips],
                       clip_probs.argmax(1), [c.source for c in clips])
    return m, probs, owner


def summary(m):
    return (f"bal {m['balanced_window_acc']*100:.1f} win {m['window_acc']*100:.1f} "
            f"clip {m['clip_acc']*100:.1f} min {m['min_genre_recall']*100:.1f} "
            f"spread {source_spread(m):.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--emb", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--mode", choices=("head", "backend", "midend"), default="midend")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="new head's learning rate")
    p.add_argument("--lr-pretrained", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--input-dropout", type=float, default=0.1,
                   help="dropout on the 561 frozen front-end channels")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--window", type=int, default=624)
    p.add_argument("--hop", type=int, default=312, help="evaluation window hop (frames)")
    p.add_argument("--head", choices=("musicnn", "mlp"), default="musicnn",
                   help="musicnn's back-end with a new output layer, or its pooled batch norm "
                        "and a new MLP")
    p.add_argument("--hidden", type=int, default=256, help="MLP head width")
    p.add_argument("--source-power", type=float, default=0.5,
                   help="clip weight n(genre, source)^-P within a genre (1: sources equal)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    clips, labels = load_embeddings(args.emb)
    train = [c for c in clips if c.split == "train"]
    valid = [c for c in clips if c.split == "valid"]
    try:
        pretrained = musicnn.load_keras_weights(args.weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    model = GenreHead(pretrained, len(labels), args.dropout, args.head, args.hidden)
    head = list(model.back.out.parameters()) + \
        (list(model.mlp.parameters()) if args.head == "mlp" else [])
    if args.mode == "head":
        body = []
    elif args.mode == "backend":
        body = list(model.back.parameters())
    else:
        body = list(model.back.parameters()) + list(model.mid.parameters())
    body = [q for q in body if all(q is not h for h in head)]
    for q in model.parameters():
        q.requires_grad = any(q is b for b in body + head)
    groups = [{"params": head, "lr": args.lr}]
    if body:
        groups.append({"params": body, "lr": args.lr_pretrained})
    opt = torch.optim.AdamW(groups, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups],
                                                total_steps=args.steps, pct_start=0.1)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    in_drop = nn.Dropout1d(args.input_dropout)
    sampler = Sampler(train, len(labels), args.window, rng, args.source_power)
    frozen = [m for m in (model.mid, model.back) if args.mode == "head" or
              (m is model.mid and args.mode == "backend")]

    from .small_cnn import git_commit
    with open(os.path.join(args.emb, "embed.json")) as f:
        embed_info = json.load(f)
    provenance = {"labels": labels, "args": vars(args), "command": command_line(),
                  "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
                  "weights_sha256": sha256_file(args.weights), "embed": embed_info,
                  "emb_index_sha256": sha256_file(os.path.join(args.emb, "index.csv"))}
    best, history, t0 = None, [], time.time()
    for step in range(1, args.steps + 1):
        model.train()
        for m in frozen:          # frozen parts keep their batch-norm statistics
            m.eval()
        picks, y = sampler.draw(args.batch)
        x, v, pl = window_batch(train, picks, args.window)
        loss = loss_fn(model(in_drop(x), v, pl), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            m, _, _ = evaluate(model, valid, labels, args.window, args.hop)
            history.append({"step": step, "loss": float(loss), **{k: m[k] for k in (
                "balanced_window_acc", "window_acc", "clip_acc", "min_genre_recall")},
                "source_spread": source_spread(m)})
            print(f"step {step} loss {float(loss):.3f} {summary(m)} ({time.time() - t0:.0f} s)",
                  flush=True)
            if best is None or m["balanced_window_acc"] > best[0]:
                best = (m["balanced_window_acc"], step)
                torch.save({"state": model.state_dict(), "step": step, "metrics": m,
                            "seconds": time.time() - t0, **provenance},
                           os.path.join(args.out, "best.pt"))
    torch.save({"state": model.state_dict(), "step": args.steps, "metrics": m,
                "seconds": time.time() - t0, **provenance}, os.path.join(args.out, "last.pt"))
    with open(os.path.join(args.out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    print(f"best balanced {best[0]*100:.1f} at step {best[1]}")


if __name__ == "__main__":
    main()
