#!/usr/bin/python3
"""Train a genre head on the frozen pooled features of one or more
pretrained musicnn trunks (front-end + mid-end, max and mean over each 10-s
window: 1506 values per trunk), the transfer method chosen by measurement
(doc/training.md, "Transfer model").

  /usr/bin/python3 train/transfer_head.py \
      --trunk ../shared/pretrained/musicnn/MSD_musicnn.h5=EMB_MSD \
      [--trunk ../shared/pretrained/musicnn/MTT_musicnn.h5=EMB_MTT] \
      [--augmented AUG_DIR/pass-1.npz ...] --cache CACHE_DIR --out runs/head1

EMB_* are train/embed.py outputs of the same features folder.  Windows are
cut from whole-clip features as a stream computes them (context beyond the
window's edges).  The head is an ensemble of --members small MLPs (dense,
ReLU, dense), trained with genre- and source-balanced sampling, mixup and
dropout; averaging their logits is itself one MLP with members x hidden
units, which is what export_transfer.py writes.  --augmented adds the
training windows of augmented passes (train/augment_pooled.py: level, EQ,
band-limiting and noise drawn per clip, the project's augmentation) to the
clean ones.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import musicnn  # noqa: E402
from genre_data import sha256_file, window_starts  # noqa: E402
from genre_metrics import window_metrics  # noqa: E402
from transfer import load_embeddings, summary  # noqa: E402

WINDOW = 624


@torch.no_grad()
def pooled_windows(net, clips, split, hop):
    """Pooled trunk features of every window of the split's clips:
    X [n, 1506], and per window its clip index."""
    X, owner = [], []
    for ci, c in enumerate(clips):
        if c.split != split:
            continue
        feats = net.mid(torch.from_numpy(np.ascontiguousarray(c.emb.T))[None])[0]
        for s in window_starts(feats.shape[1], WINDOW, hop):
            X.append(musicnn.time_maxmean(feats[None, :, s:s + WINDOW])[0].numpy())
            owner.append(ci)
    return np.stack(X), np.array(owner)


def trunk_features(weights, emb_dir, cache_dir, train_hop, valid_hop):
    """(clips, labels, {split: (X, owner)}), cached by the inputs' hashes."""
    clips, labels = load_embeddings(emb_dir, mmap=True)
    key = f"{sha256_file(weights)[:16]}-{sha256_file(os.path.join(emb_dir, 'index.csv'))[:16]}" \
          f"-{train_hop}-{valid_hop}"
    path = os.path.join(cache_dir, f"pooled-{key}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return clips, labels, {s: (d[f"{s}_X"], d[f"{s}_owner"]) for s in ("train", "valid")}
    try:
        net = musicnn.load_keras_weights(weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    out = {s: pooled_windows(net, clips, s, h) for s, h in (("train", train_hop), ("valid", valid_hop))}
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(path + ".tmp.npz", **{f"{s}_{k}": v for s, (X, o) in out.items() for k, v in (("X", X), ("owner", o))})
    os.replace(path + ".tmp.npz", path)
    return clips, labels, out


def add_augmented(paths, trunk, clips, X, owner):
    """Training windows of augmented passes appended to X/owner; each pass
    must come from the same weights and features as the trunk."""
    index = {c.file: i for i, c in enumerate(clips) if c.split == "train"}
    want_features = trunk["embed"].get("features_index_sha256")
    described = []
    for path in paths:
        meta_path = path[:-len(".npz")] + ".json" if path.endswith(".npz") else path + ".json"
        try:
            d = np.load(path)
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: {path}: {e}")
        if meta.get("weights_sha256") != trunk["weights_sha256"]:
            raise SystemExit(f"error: {path}: made with other weights than {trunk['weights']}")
        if meta.get("features_index_sha256") != want_features:
            raise SystemExit(f"error: {path}: made from other features than {trunk['emb']}")
        unknown = sorted(set(d["clip"].tolist()) - set(index))
        if unknown:
            raise SystemExit(f"error: {path}: {len(unknown)} clip(s) not in the training split, "
                             f"e.g. {unknown[0]}")
        if d["X"].shape[1] != X.shape[1]:
            raise SystemExit(f"error: {path}: {d['X'].shape[1]} features per window, expected {X.shape[1]}")
        X = np.concatenate([X, d["X"]])
        owner = np.concatenate([owner, np.array([index[c] for c in d["clip"].tolist()])])
        described.append({"file": os.path.abspath(path), "sha256": sha256_file(path),
                          "seed": meta.get("seed"), "augment": meta.get("augment"),
                          "windows": int(d["X"].shape[0])})
        print(f"augmented pass {path}: {d['X'].shape[0]} windows", flush=True)
    return X, owner, described


def balanced_weights(labels_idx, sources, n_labels):
    """Sampling weights: every genre equally, within a genre every source equally."""
    w = np.zeros(len(labels_idx))
    for k in range(n_labels):
        sel = labels_idx == k
        srcs = sorted(set(sources[sel]))
        for s in srcs:
            m = sel & (sources == s)
            w[m] = 1.0 / (len(srcs) * m.sum())
    return w / w.sum()


def metrics_of(probs, owner, clips, labels):
    clip_ids = sorted(set(owner.tolist()))
    clip_probs = np.stack([probs[owner == c].mean(0) for c in clip_ids])
    return window_metrics(labels, len(labels), [clips[o].label_index for o in owner], probs.argmax(1),
                          [clips[o].source for o in owner], [clips[c].label_index for c in clip_ids],
                          clip_probs.argmax(1), [clips[c].source for c in clip_ids])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trunk", action="append", required=True, metavar="WEIGHTS.h5=EMB_DIR")
    p.add_argument("--cache", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--input-dropout", type=float, default=0.2)
    p.add_argument("--mixup", type=float, default=0.4, help="Beta(a, a) mixup; 0 = off")
    p.add_argument("--train-hop", type=int, default=31, help="frames between training windows")
    p.add_argument("--valid-hop", type=int, default=312, help="frames between evaluation windows")
    p.add_argument("--augmented", action="append", default=[], metavar="PASS.npz",
                   help="pooled training windows of an augmented pass (train/augment_pooled.py) "
                        "added to the clean ones; one trunk only")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    trunks, feats, clips, labels = [], {"train": [], "valid": []}, None, None
    for spec in args.trunk:
        weights, _, emb = spec.partition("=")
        if not emb:
            raise SystemExit(f"error: --trunk {spec}: expected WEIGHTS.h5=EMB_DIR")
        c, l, f = trunk_features(weights, emb, args.cache, args.train_hop, args.valid_hop)
        if clips is None:
            clips, labels = c, l
        elif [x.file for x in c] != [x.file for x in clips]:
            raise SystemExit(f"error: {emb} holds other clips than {args.trunk[0]}")
        for s in feats:
            feats[s].append(f[s])
        with open(os.path.join(emb, "embed.json")) as fh:
            embed_info = json.load(fh)
        trunks.append({"weights": os.path.abspath(weights), "weights_sha256": sha256_file(weights),
                       "emb": os.path.abspath(emb), "embed": embed_info,
                       "emb_index_sha256": sha256_file(os.path.join(emb, "index.csv"))})
    X = {s: np.concatenate([f[0] for f in feats[s]], axis=1) for s in feats}
    owner = {s: feats[s][0][1] for s in feats}
    augmented = []
    if args.augmented:
        if len(trunks) != 1:
            raise SystemExit("error: --augmented works with one --trunk")
        X["train"], owner["train"], augmented = add_augmented(args.augmented, trunks[0], clips,
                                                              X["train"], owner["train"])
    skipped = sum(len(t["embed"].get("skipped", [])) for t in trunks[:1])
    print(f"features: {len(clips)} clips ({skipped} of the manifest skipped as not decodable, "
          f"see embed.json), windows: train {X['train'].shape}, valid {X['valid'].shape} "
          f"({time.time() - t0:.0f} s)", flush=True)

    y_train = np.array([clips[o].label_index for o in owner["train"]])
    src_train = np.array([clips[o].source for o in owner["train"]])
    mu, sd = X["train"].mean(0), X["train"].std(0) + 1e-6
    xt = torch.tensor((X["train"] - mu) / sd, dtype=torch.float32)
    xv = torch.tensor((X["valid"] - mu) / sd, dtype=torch.float32)
    yt = torch.from_numpy(y_train)
    w = balanced_weights(y_train, src_train, len(labels))
    n_in, n_labels = xt.shape[1], len(labels)

    members, logits = [], []
    for k in range(args.members):
        torch.manual_seed(args.seed + k)
        rng = np.random.default_rng(args.seed + k)
        net = nn.Sequential(nn.Dropout(args.input_dropout), nn.Linear(n_in, args.hidden), nn.ReLU(),
                            nn.Dropout(args.dropout), nn.Linear(args.hidden, n_labels))
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                    pct_start=0.1)
        for step in range(args.steps):
            net.train()
            idx = rng.choice(len(yt), size=args.batch, p=w)
            x, y = xt[idx], nn.functional.one_hot(yt[idx], n_labels).float()
            if args.mixup > 0:
                lam = torch.tensor(rng.beta(args.mixup, args.mixup, size=(args.batch, 1)),
                                   dtype=torch.float32)
                perm = torch.randperm(args.batch)
                x, y = lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
            loss = torch.sum(-y * torch.log_softmax(net(x), 1), 1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            logits.append(net(xv).numpy())
        m = metrics_of(torch.softmax(torch.from_numpy(logits[-1]), 1).numpy(), owner["valid"], clips, labels)
        print(f"member {k}: {summary(m)} ({time.time() - t0:.0f} s)", flush=True)
        members.append({"w1": net[1].weight.detach().numpy(), "b1": net[1].bias.detach().numpy(),
                        "w2": net[4].weight.detach().numpy(), "b2": net[4].bias.detach().numpy()})
    probs = torch.softmax(torch.from_numpy(np.mean(logits, axis=0)), 1).numpy()
    m = metrics_of(probs, owner["valid"], clips, labels)
    print(f"ensemble of {args.members}: {summary(m)}")
    from train import git_commit  # noqa: E402
    torch.save({"kind": "head", "trunks": trunks, "augmented": augmented, "labels": labels, "mu": mu, "sd": sd,
                "members": members, "metrics": m, "args": vars(args), "command": " ".join(sys.argv),
                "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
                "seconds": time.time() - t0, "window": WINDOW},
               os.path.join(args.out, "head.pt"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(m, f, indent=1)


if __name__ == "__main__":
    main()
