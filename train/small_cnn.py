"""Train the small genre CNN from scratch on features made by genre-features.

  /usr/bin/python3 -m train.small_cnn --features features/default --arch f4 \
      --steps 3000 --batch 32 --out runs/f4

Writes <out>/best.pt (best valid balanced window accuracy), <out>/last.pt,
<out>/log.csv (one line per evaluation) and <out>/summary.json.  export.py
turns best.pt into a model file.  See doc/training.md.
"""

import argparse
import copy
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .genre_arch import ARCHS, build_model, count_flops, count_params
from .genre_augment import AugmentConfig, InputNorm, make_batch, mix_weights, normalise
from .genre_data import BalancedSampler, FeatureSet, command_line, crop, normalisation_stats, window_starts
from .genre_metrics import source_spread, window_metrics


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the genre classifier on genre-features output.")
    p.add_argument("--features", default="features/default", help="features folder (index.csv, spec.json, feat/)")
    p.add_argument("--out", required=True, help="output folder for checkpoints and logs")
    p.add_argument("--arch", default="f4", choices=sorted(ARCHS))
    p.add_argument("--steps", type=int, default=3000, help="training steps (batches)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=1e-2, help="AdamW weight decay")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=250, help="steps between valid evaluations")
    p.add_argument("--patience", type=int, default=6, help="stop after this many evaluations without improvement (0: never)")
    p.add_argument("--eval-hop", type=int, default=312, help="valid window hop in frames (5 s)")
    p.add_argument("--max-minutes", type=float, default=0, help="stop cleanly after this much wall time (0: no limit)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--source-power", type=float, default=0.5,
                   help="within a genre, draw clips with weight n(genre,source)^-power (0: uniform over clips)")
    p.add_argument("--no-augment", action="store_true", help="disable augmentation (for comparison)")
    p.add_argument("--aug-scale", type=float, default=1.0,
                   help="multiply the probabilities of EQ, noise, band-limiting, mixing and masking by this")
    p.add_argument("--mixup", type=float, default=0.0,
                   help="probability that a training crop is mixed with a crop of another genre, the target "
                        "mixed in the same proportion as the power (0: off; same-genre mixing is separate)")
    p.add_argument("--ema", type=float, default=0.0,
                   help="evaluate and save an exponential moving average of the weights and BatchNorm "
                        "statistics with this decay per step (e.g. 0.998; 0: off)")
    p.add_argument("--init", metavar="CKPT",
                   help="start from this checkpoint's weights (same arch and labels) instead of random ones: "
                        "a second schedule, usually with a lower --lr")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    for name in ("steps", "batch", "eval_every", "eval_hop", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if not args.lr > 0:
        p.error("--lr must be > 0")
    if not 0.0 <= args.mixup <= 1.0:
        p.error("--mixup must be in [0, 1]")
    if not 0.0 <= args.ema < 1.0:
        p.error("--ema must be in [0, 1)")
    return args


def git_commit(path):
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def mixed_targets(batch, mix_w, n_labels):
    """Class-probability targets of a SampledBatch: one-hot, or for a mixed
    row the two crops' genres weighted like their power (same genre: still
    one-hot)."""
    first = torch.nn.functional.one_hot(torch.from_numpy(batch.labels), n_labels).float()
    second = torch.nn.functional.one_hot(torch.from_numpy(batch.labels2), n_labels).float()
    w = torch.where(torch.from_numpy(batch.use_mix), mix_w, torch.ones_like(mix_w)).view(-1, 1)
    return w * first + (1.0 - w) * second


class WeightAverage:
    """Exponential moving average of every floating-point tensor of a model's
    state (weights and BatchNorm running statistics).  Averaging the last few
    hundred steps smooths the noise of small, heavily augmented batches; the
    average is what gets evaluated and saved."""

    def __init__(self, model, decay):
        self.decay = decay
        self.model = copy.deepcopy(model)
        self.updates = 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        # Short warm-up: early on the average would be dominated by the
        # random initialisation, so the effective decay grows with the count.
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, cur in zip(self.model.state_dict().values(), model.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(cur, alpha=1.0 - d)
            else:
                avg.copy_(cur)


class Progress:
    """A one-line progress display on stderr (tqdm is not installed here)."""

    def __init__(self, total, quiet):
        self.total = total
        self.quiet = quiet
        # Not a terminal (a log file): a plain line every 5 % instead of \r updates.
        self.tty = sys.stderr.isatty()
        self.every = max(1, total // 20)
        self.start = time.monotonic()
        self.last_print = 0.0

    def update(self, step, loss, valid_text):
        now = time.monotonic()
        if self.quiet:
            return
        if not self.tty:
            if step % self.every == 0:
                sys.stderr.write(f"step {step}/{self.total} loss {loss:.3f} {valid_text} "
                                 f"{(now - self.start) / 60:.1f} min\n")
                sys.stderr.flush()
            return
        if now - self.last_print < 0.5 and step != self.total:
            return
        self.last_print = now
        elapsed = now - self.start
        eta = elapsed / step * (self.total - step) if step else 0.0
        width = 24
        done = int(width * step / self.total)
        bar = "#" * done + "." * (width - done)
        sys.stderr.write(f"\r[{bar}] {step}/{self.total} loss {loss:.3f} {valid_text} "
                         f"{elapsed / 60:.1f}m<{eta / 60:.1f}m ")
        sys.stderr.flush()

    def message(self, text):
        if not self.quiet and self.tty:
            sys.stderr.write("\r" + " " * 100 + "\r")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def window_probabilities(model, clips, n_labels, window, hop, norm, batch=64):
    """Softmax output for every `window`-frame window at `hop` of every clip,
    the way genre-classify slides over a file; returns (probs, clip index of
    each window)."""
    model.eval()
    items = [(ci, s) for ci, c in enumerate(clips) for s in window_starts(c.logmel.shape[0], window, hop)]
    probs = np.zeros((len(items), n_labels), dtype=np.float32)
    with torch.no_grad():
        for b0 in range(0, len(items), batch):
            chunk = items[b0:b0 + batch]
            raw = np.empty((len(chunk), window, clips[0].logmel.shape[1]), dtype=np.float32)
            valid = np.empty((len(chunk), window), dtype=bool)
            for j, (ci, s) in enumerate(chunk):
                raw[j], valid[j] = crop(clips[ci].logmel, s, window)
            x = normalise(raw, valid, norm)
            probs[b0:b0 + len(chunk)] = torch.softmax(model(x), dim=1).numpy()
    return probs, np.array([ci for ci, _ in items])


def probability_metrics(probs, win_clip, clips, labels):
    """Window, balanced and clip accuracy (clip = mean window probability)."""
    win_pred = probs.argmax(1)
    clip_pred = np.array([probs[win_clip == ci].mean(0).argmax() for ci in range(len(clips))])
    return window_metrics(
        labels, len(labels),
        [clips[ci].label_index for ci in win_clip], win_pred, [clips[ci].source for ci in win_clip],
        [c.label_index for c in clips], clip_pred, [c.source for c in clips])


def evaluate(model, clips, n_labels, labels, window, hop, norm, batch=64):
    """Valid metrics of one model over every window of every clip (norm: an
    InputNorm)."""
    probs, win_clip = window_probabilities(model, clips, n_labels, window, hop, norm, batch)
    return probability_metrics(probs, win_clip, clips, labels)


@dataclass
class TrainingSet:
    """The features a run trains and validates on, and how they are
    normalised (statistics of the training clips)."""
    data: FeatureSet
    train_clips: list
    valid_clips: list
    labels: list
    norm: InputNorm
    mean: np.ndarray
    std: np.ndarray


def load_training_set(features):
    data = FeatureSet(features)
    train_clips, valid_clips = data.split("train"), data.split("valid")
    if not train_clips:
        raise SystemExit("error: no clips with split 'train' in the index")
    missing = [l for l in data.labels if not any(c.label == l for c in train_clips)]
    if missing:
        print(f"warning: no training clips for {', '.join(missing)}", file=sys.stderr)
    mean, std = normalisation_stats(train_clips)
    norm = InputNorm(data.log_offset, torch.from_numpy(mean), torch.from_numpy(std),
                     torch.from_numpy(data.band_centres_hz()))
    return TrainingSet(data, train_clips, valid_clips, data.labels, norm, mean, std)


def make_model(args, ts):
    """The network to train (from --init's weights when given) and its MFLOP
    per window."""
    model = build_model(args.arch, len(ts.labels), args.dropout)
    if args.init:
        from .export import load_checkpoint
        init, init_model = load_checkpoint(args.init)
        if init["arch"] != args.arch or list(init["labels"]) != list(ts.labels):
            raise SystemExit(f"error: --init {args.init} is arch {init['arch']} with labels {init['labels']}, "
                             f"not {args.arch} with {ts.labels}")
        model.load_state_dict(init_model.state_dict())
    flops = count_flops(model, ts.data.window_frames, ts.data.n_mels)
    print(f"{len(ts.train_clips)} train / {len(ts.valid_clips)} valid clips, {len(ts.labels)} labels; "
          f"arch {args.arch}: {count_params(model)} parameters, {flops / 1e6:.1f} MFLOP/window",
          file=sys.stderr)
    return model, flops


def augmentation(args):
    """The augmentation settings (--aug-scale, --mixup, --no-augment): the
    config and the probability of mixing a crop with another genre's."""
    aug = AugmentConfig()
    for name in ("eq_prob", "noise_prob", "bandlimit_prob", "mix_prob", "mask_prob"):
        setattr(aug, name, min(1.0, max(0.0, getattr(aug, name) * args.aug_scale)))
    cross_prob = min(args.mixup, 1.0 - aug.mix_prob)
    if args.no_augment:
        aug.mix_prob = cross_prob = 0.0
    return aug, cross_prob


class Checkpoints:
    """What a run leaves in --out: log.csv (one line per evaluation),
    last.pt, best.pt (best valid balanced window accuracy, then window
    accuracy) and the early stop after --patience evaluations without a
    better one."""

    def __init__(self, out, common, patience):
        os.makedirs(out, exist_ok=True)
        self.out, self.common, self.patience = out, common, patience
        self.best, self.best_step, self.evals_since_best = None, 0, 0
        self.log_path = os.path.join(out, "log.csv")
        with open(self.log_path, "w", newline="") as f:
            csv.writer(f).writerow(["step", "seconds", "train_loss", "valid_window_acc",
                                    "valid_balanced_acc", "valid_clip_acc", "min_genre_recall",
                                    "source_spread"])

    def record(self, model, step, seconds, loss_avg, m):
        """Save after an evaluation (m: its metrics, None without valid
        clips); True when the run should stop early."""
        if m:
            with open(self.log_path, "a", newline="") as f:
                csv.writer(f).writerow([step, round(seconds, 1), round(loss_avg, 4), m["window_acc"],
                                        m["balanced_window_acc"], m["clip_acc"], m["min_genre_recall"],
                                        round(source_spread(m), 2)])
        key = (m["balanced_window_acc"], m["window_acc"]) if m else (-float(step), 0.0)
        state = dict(self.common, state_dict=model.state_dict(), step=step, seconds=seconds, valid=m)
        torch.save(state, os.path.join(self.out, "last.pt"))
        if self.best is None or key > self.best:
            self.best, self.best_step, self.evals_since_best = key, step, 0
            torch.save(state, os.path.join(self.out, "best.pt"))
        else:
            self.evals_since_best += 1
        return bool(self.patience and self.evals_since_best >= self.patience)


def train_steps(args, ts, model, sampler, aug, cross_prob, gen, checkpoints, started):
    """The optimisation loop with its evaluations; (steps run, why it
    stopped)."""
    n_labels = len(ts.labels)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.2)
    average = WeightAverage(model, args.ema) if args.ema > 0 else None
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    progress = Progress(args.steps, args.quiet)
    loss_avg, valid_text = None, "valid -"
    step = 0
    for step in range(1, args.steps + 1):
        model.train()
        batch = sampler.batch(args.batch, aug.mix_prob, cross_prob)
        # Drawn only when some row mixes, as before --mixup existed, so that
        # earlier runs' commands still reproduce them exactly.
        mix_w = mix_weights(args.batch, gen) if batch.use_mix.any() else torch.ones(args.batch)
        if args.no_augment:
            x = normalise(batch.crops, batch.valid, ts.norm)
        else:
            x = make_batch(batch, ts.norm, aug, gen, mix_w=mix_w)
        loss = loss_fn(model(x), mixed_targets(batch, mix_w, n_labels))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if average:
            average.update(model)
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        progress.update(step, loss_avg, valid_text)

        out_of_time = args.max_minutes > 0 and time.time() - started > args.max_minutes * 60
        if step % args.eval_every == 0 or step == args.steps or out_of_time:
            kept = average.model if average else model
            m = (evaluate(kept, ts.valid_clips, n_labels, ts.labels, ts.data.window_frames,
                          args.eval_hop, ts.norm) if ts.valid_clips else None)
            seconds = time.time() - started
            if m:
                valid_text = f"valid bal {100 * m['balanced_window_acc']:.1f}% win {100 * m['window_acc']:.1f}%"
                progress.message(f"step {step}: loss {loss_avg:.3f}, {valid_text}, clip {100 * m['clip_acc']:.1f}%, "
                                 f"min genre {100 * m['min_genre_recall']:.1f}%, source spread {source_spread(m):.1f} pts, "
                                 f"{seconds / 60:.1f} min")
            if checkpoints.record(kept, step, seconds, loss_avg, m):
                return step, f"early stop: no improvement in {args.patience} evaluations"
            if out_of_time:
                return step, f"time limit {args.max_minutes} min"
    return step, "steps done"


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    ts = load_training_set(args.features)
    model, flops = make_model(args, ts)
    sampler = BalancedSampler(ts.train_clips, len(ts.labels), ts.data.window_frames, rng,
                              args.source_power)
    aug, cross_prob = augmentation(args)
    common = {
        "arch": args.arch, "labels": ts.labels, "dropout": args.dropout,
        "norm_mean": ts.mean, "norm_std": ts.std, "spec": ts.data.spec,
        "features_dir": os.path.abspath(args.features), "index_sha256": ts.data.index_sha256,
        "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
        "command": command_line(), "args": vars(args),
        "params": count_params(model), "flops": flops, "ema": args.ema,
    }
    checkpoints = Checkpoints(args.out, common, args.patience)
    step, stop_reason = train_steps(args, ts, model, sampler, aug, cross_prob, gen, checkpoints,
                                    started)

    seconds = time.time() - started
    best_state = torch.load(os.path.join(args.out, "best.pt"), map_location="cpu")
    summary = {"arch": args.arch, "params": count_params(model), "mflop_per_window": flops / 1e6,
               "steps_run": step, "best_step": checkpoints.best_step, "seconds": round(seconds, 1),
               "stop": stop_reason, "valid": best_state["valid"], "command": common["command"]}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    v = best_state["valid"]
    if v:
        print(f"{stop_reason}; best step {checkpoints.best_step}: valid balanced window acc "
              f"{100 * v['balanced_window_acc']:.1f}%, window {100 * v['window_acc']:.1f}%, "
              f"clip {100 * v['clip_acc']:.1f}%, {seconds / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
