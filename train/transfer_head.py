"""Train a genre head on the frozen pooled features of one or more
pretrained musicnn trunks (front-end + mid-end, max and mean over each 10-s
window: 1506 values per trunk), the transfer method chosen by measurement
(doc/training.md, "Transfer model").

  /usr/bin/python3 -m train.transfer_head \
      --trunk ../shared/pretrained/musicnn/MSD_musicnn.h5=EMB_MSD \
      [--trunk ../shared/pretrained/musicnn/MTT_musicnn.h5=EMB_MTT] \
      [--augmented AUG/pitch.npz ...] [--sampling natural --loss la] [--cv 5] \
      --cache CACHE_DIR --out runs/head1

EMB_* are train/embed.py outputs of the same features folder.  Windows are
cut from whole-clip features as a stream computes them (context beyond the
window's edges).  The head is an ensemble of --members small MLPs (dense,
ReLU, dense) with mixup and dropout; averaging their logits is itself one
MLP with members x hidden units, which is what export_transfer.py writes.
The members are trained side by side as one batched network (each with its
own parameters, sample draws, dropout and mixup; AdamW is elementwise, so
this equals training them one after the other, only faster).

--sampling: genre-source (every genre equally, within a genre every source
equally), genre, or natural (every training window equally).  --loss la is
the logit-adjusted loss (Menon et al. 2021): the logits are offset by the
log of the sampling's genre prior while training, so a naturally sampled
head still learns balanced decisions.  --cv K cross-validates on the
training clips, folds grouped by artist, and picks the post-hoc adjustment
tau (logits - tau * log(train genre prior)) with the best out-of-fold
balanced window accuracy; --tau gives it instead.  The chosen tau is folded
into the output biases; `valid` is only reported, never used to choose.

--augmented adds the training windows of augmented passes to the clean
ones: train/augment_pooled.py (level, EQ, band-limiting and noise drawn per
clip, in the mel domain) or train/pooled_pass.py (pitch- and tempo-shifted
audio copies, train/augment_audio.py).
"""

import argparse
import csv
import json
import os
import time

import numpy as np
import torch

from . import musicnn
from .genre_data import command_line, sha256_file, window_starts
from .genre_metrics import window_metrics
from .transfer import load_embeddings, summary

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
    must come from the same trunk weights, and a mel-domain pass
    (augment_pooled.py) from the trunk's own features."""
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
        audio_pass = "model_sha256" in meta         # pooled_pass.py: features of audio copies
        if not audio_pass and meta.get("features_index_sha256") != want_features:
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
    return sampling_weights(labels_idx, sources, n_labels, "genre-source")


def sampling_weights(y, src, n_labels, mode):
    """Per-window sampling weights, summing to 1.  genre-source: every genre
    equally, within a genre every source equally; genre: every genre
    equally; natural: every window equally."""
    w = np.zeros(len(y))
    for k in range(n_labels):
        sel = y == k
        if not sel.any():
            continue
        if mode == "genre-source":
            srcs = sorted(set(src[sel]))
            for s in srcs:
                m = sel & (src == s)
                w[m] = 1.0 / (len(srcs) * m.sum())
        elif mode == "genre":
            w[sel] = 1.0 / sel.sum()
        else:
            w[sel] = 1.0
    return w / w.sum()


def train_batched(X, y, weight_sets, n_labels, a, seed, log_prior=None):
    """Train len(weight_sets) MLP heads (dense, ReLU, dense) side by side.
    weight_sets[m]: sampling weights over the rows of X (0 = not in model
    m's training set); log_prior: the sampling's log genre prior, added to
    the logits while training with --loss la.  Returns per head a dict w1
    [H, in], b1, w2 [K, H], b2."""
    M, n_in, H = len(weight_sets), X.shape[1], a.hidden
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)                 # dropout draws from the global generator
    rngs = [np.random.default_rng(seed + m) for m in range(M)]
    cdfs = [np.cumsum(w) for w in weight_sets]

    def init(fan_in, *shape):
        bound = 1.0 / np.sqrt(fan_in)
        return ((torch.rand(*shape, generator=gen) * 2 - 1) * bound).requires_grad_()
    w1, b1 = init(n_in, M, n_in, H), init(n_in, M, 1, H)
    w2, b2 = init(H, M, H, n_labels), init(H, M, 1, n_labels)
    params = [w1, b1, w2, b2]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.1)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(y)
    la = torch.tensor(a.loss_tau * log_prior, dtype=torch.float32) if a.loss == "la" else None
    B = a.batch
    for step in range(a.steps):
        idx = np.stack([np.searchsorted(c, r.random(B) * c[-1], side="right").clip(0, len(c) - 1)
                        for c, r in zip(cdfs, rngs)])
        idx_t = torch.from_numpy(idx)
        x = Xt[idx_t]                                             # [M, B, in]
        t = torch.nn.functional.one_hot(Yt[idx_t], n_labels).float()
        if a.mixup > 0:
            lam = torch.from_numpy(np.stack([r.beta(a.mixup, a.mixup, size=(B, 1)) for r in rngs])).float()
            perm = torch.stack([torch.randperm(B, generator=gen) for _ in range(M)])
            xp = torch.gather(x, 1, perm[:, :, None].expand(-1, -1, n_in))
            tp = torch.gather(t, 1, perm[:, :, None].expand(-1, -1, n_labels))
            x, t = lam * x + (1 - lam) * xp, lam * t + (1 - lam) * tp
        if a.input_dropout > 0:
            x = torch.nn.functional.dropout(x, a.input_dropout, True)
        h = torch.relu(torch.baddbmm(b1, x, w1))
        if a.dropout > 0:
            h = torch.nn.functional.dropout(h, a.dropout, True)
        logits = torch.baddbmm(b2, h, w2)
        if la is not None:
            logits = logits + la
        loss = torch.sum(-t * torch.log_softmax(logits, 2), 2).mean() * M
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    final = [p.detach() for p in params]
    return [{"w1": final[0][m].T.contiguous().numpy(), "b1": final[1][m, 0].numpy(),
             "w2": final[2][m].T.contiguous().numpy(), "b2": final[3][m, 0].numpy()} for m in range(M)]


def head_logits(member, X):
    h = np.maximum(X @ member["w1"].T + member["b1"], 0)
    return h @ member["w2"].T + member["b2"]


def balanced_accuracy(y, pred, n_labels):
    """(mean per-genre recall, lowest per-genre recall)."""
    rec = [np.mean(pred[y == k] == k) for k in range(n_labels) if (y == k).any()]
    return float(np.mean(rec)), float(np.min(rec))


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def artist_groups(emb_dir, clips):
    """Per clip a cross-validation group: source + artist (the clip id where
    the source names no artist), so no artist is in two folds."""
    with open(os.path.join(emb_dir, "index.csv"), newline="") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    return [f"{c.source}/{rows[c.file].get('artist') or rows[c.file].get('clip') or c.file}".lower()
            for c in clips]


TAU_GRID = np.round(np.arange(-1.0, 2.01, 0.1), 2)


def choose_tau(a, Xn, y, src, owner, clips, emb, log_prior, n_labels):
    """--cv: the post-hoc tau with the best out-of-fold balanced window
    accuracy over the clean training windows (artist-grouped folds), and
    the figures at tau 0 and at it."""
    clean = owner["clean"]
    groups = np.array(artist_groups(emb, clips))
    train_clips = sorted(set(owner["train"][clean].tolist()))
    ug = sorted(set(groups[train_clips]))
    perm = np.random.default_rng(12345).permutation(len(ug))    # the same folds in every run
    fold_of_group = {g: perm[i] % a.cv for i, g in enumerate(ug)}
    fold = np.array([fold_of_group[groups[o]] for o in owner["train"]])
    sets = []
    for f in range(a.cv):
        tr = fold != f
        w = np.zeros(len(y))
        w[tr] = sampling_weights(y[tr], src[tr], n_labels, a.sampling)
        sets.append(w)
    lp = np.log(np.array([sets[0][y == k].sum() for k in range(n_labels)]) + 1e-12)
    models = train_batched(Xn["train"], y, sets, n_labels, a, a.seed, lp)
    oof = np.zeros((len(y), n_labels))
    for f in range(a.cv):
        m = clean & (fold == f)
        oof[m] = head_logits(models[f], Xn["train"][m])
    yc, oofc, srcc = y[clean], oof[clean], src[clean]
    rows = []
    for tau in TAU_GRID:
        pred = (oofc - tau * log_prior).argmax(1)
        bal, low = balanced_accuracy(yc, pred, n_labels)
        accs = [np.mean(pred[srcc == s] == yc[srcc == s]) for s in sorted(set(srcc))]
        rows.append((float(tau), bal, low, float(np.mean(pred == yc)), 100 * (max(accs) - min(accs))))
    base = [r for r in rows if r[0] == 0][0]
    best = max(rows, key=lambda r: (round(r[1], 4), -abs(r[0])))
    for name, r in (("tau 0", base), (f"best tau {best[0]:+.1f}", best)):
        print(f"CV {a.cv} folds ({len(ug)} artist groups), out of fold, {name}: balanced "
              f"{100 * r[1]:.1f} window {100 * r[3]:.1f} lowest genre {100 * r[2]:.1f} "
              f"source spread {r[4]:.1f}", flush=True)
    return best[0], {"oof_tau0": base, "best": best, "grid": rows}


def metrics_of(probs, owner, clips, labels):
    clip_ids = sorted(set(owner.tolist()))
    clip_probs = np.stack([probs[owner == c].mean(0) for c in clip_ids])
    return window_metrics(labels, len(labels), [clips[o].label_index for o in owner], probs.argmax(1),
                          [clips[o].source for o in owner], [clips[c].label_index for c in clip_ids],
                          clip_probs.argmax(1), [clips[c].source for c in clip_ids])


def parse_trunk(spec):
    """--trunk WEIGHTS.h5=EMB_DIR -> (weights, emb_dir, the trunk's
    provenance record for the model file)."""
    weights, _, emb = spec.partition("=")
    if not emb:
        raise SystemExit(f"error: --trunk {spec}: expected WEIGHTS.h5=EMB_DIR")
    with open(os.path.join(emb, "embed.json")) as fh:
        embed_info = json.load(fh)
    return weights, emb, {"weights": os.path.abspath(weights), "weights_sha256": sha256_file(weights),
                          "emb": os.path.abspath(emb), "embed": embed_info,
                          "emb_index_sha256": sha256_file(os.path.join(emb, "index.csv"))}


def add_head_options(p, steps, batch, hidden_help=None, mixup_help="Beta(a, a) mixup; 0 = off"):
    """The options every transfer head trainer takes (cache, output,
    ensemble, optimiser, regularisation, window hops, seed, threads)."""
    p.add_argument("--cache", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--hidden", type=int, default=256, help=hidden_help)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--input-dropout", type=float, default=0.2)
    p.add_argument("--mixup", type=float, default=0.4, help=mixup_help)
    p.add_argument("--train-hop", type=int, default=31, help="frames between training windows")
    p.add_argument("--valid-hop", type=int, default=312, help="frames between evaluation windows")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trunk", action="append", required=True, metavar="WEIGHTS.h5=EMB_DIR")
    add_head_options(p, steps=2000, batch=128)
    p.add_argument("--sampling", default="genre-source", choices=("genre-source", "genre", "natural"))
    p.add_argument("--loss", default="ce", choices=("ce", "la"),
                   help="la: logit-adjusted by the sampling's genre prior")
    p.add_argument("--loss-tau", type=float, default=1.0, help="--loss la's strength")
    p.add_argument("--cv", type=int, default=0, help="folds for choosing the post-hoc tau (0: none)")
    p.add_argument("--tau", type=float, default=None, help="the post-hoc tau (default: --cv's, or 0)")
    p.add_argument("--augmented", action="append", default=[], metavar="PASS.npz",
                   help="pooled training windows of an augmented pass (python3 -m train.augment_pooled "
                        "or train.pooled_pass) added to the clean ones; one trunk only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    trunks, feats, clips, labels = [], {"train": [], "valid": []}, None, None
    for spec in args.trunk:
        weights, emb, record = parse_trunk(spec)
        c, l, f = trunk_features(weights, emb, args.cache, args.train_hop, args.valid_hop)
        if clips is None:
            clips, labels = c, l
        elif [x.file for x in c] != [x.file for x in clips]:
            raise SystemExit(f"error: {emb} holds other clips than {args.trunk[0]}")
        for s in feats:
            feats[s].append(f[s])
        trunks.append(record)
    X = {s: np.concatenate([f[0] for f in feats[s]], axis=1) for s in feats}
    owner = {s: feats[s][0][1] for s in feats}
    n_clean = len(owner["train"])
    augmented = []
    if args.augmented:
        if len(trunks) != 1:
            raise SystemExit("error: --augmented works with one --trunk")
        X["train"], owner["train"], augmented = add_augmented(args.augmented, trunks[0], clips,
                                                              X["train"], owner["train"])
    owner["clean"] = np.arange(len(owner["train"])) < n_clean
    skipped = sum(len(t["embed"].get("skipped", [])) for t in trunks[:1])
    print(f"features: {len(clips)} clips ({skipped} of the manifest skipped as not decodable, "
          f"see embed.json), windows: train {X['train'].shape}, valid {X['valid'].shape} "
          f"({time.time() - t0:.0f} s)", flush=True)

    n_labels = len(labels)
    y = np.array([clips[o].label_index for o in owner["train"]])
    src = np.array([clips[o].source for o in owner["train"]])
    mu, sd = X["train"].mean(0), X["train"].std(0) + 1e-6
    Xn = {s: ((X[s] - mu) / sd).astype(np.float32) for s in ("train", "valid")}
    clean = owner["clean"]
    log_prior = np.log(np.bincount(y[clean], minlength=n_labels) / clean.sum())  # train genre prior
    tau, cv = (args.tau if args.tau is not None else 0.0), None
    if args.cv and args.tau is None:
        tau, cv = choose_tau(args, Xn, y, src, owner, clips, trunks[0]["emb"], log_prior, n_labels)
    w = sampling_weights(y, src, n_labels, args.sampling)
    sampling_prior = np.array([w[y == k].sum() for k in range(n_labels)])
    members = train_batched(Xn["train"], y, [w] * args.members, n_labels, args, args.seed + 100,
                            np.log(sampling_prior))
    for mb in members:                      # the post-hoc adjustment, folded into the output bias
        mb["b2"] = (mb["b2"] - tau * log_prior).astype(np.float32)
    logits = np.mean([head_logits(mb, Xn["valid"]) for mb in members], 0)
    m = metrics_of(softmax(logits), owner["valid"], clips, labels)
    print(f"ensemble of {args.members}, tau {tau:+.1f}: {summary(m)} ({time.time() - t0:.0f} s)",
          flush=True)
    print("  per genre: " + " ".join(f"{g} {100 * v['recall']:.0f}" for g, v in m["per_genre"].items())
          + " | per source: " + " ".join(f"{s} {100 * v['window_acc']:.1f}"
                                         for s, v in m["per_source"].items()), flush=True)
    from .small_cnn import git_commit
    torch.save({"kind": "head", "trunks": trunks, "augmented": augmented, "labels": labels, "mu": mu, "sd": sd,
                "members": members, "metrics": m, "posthoc_tau": tau, "cv": cv, "args": vars(args),
                "command": command_line(),
                "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
                "seconds": time.time() - t0, "window": WINDOW},
               os.path.join(args.out, "head.pt"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"valid": m, "posthoc_tau": tau, "cv": cv}, f, indent=1, default=float)


if __name__ == "__main__":
    main()
