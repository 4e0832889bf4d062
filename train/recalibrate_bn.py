"""Re-estimate a checkpoint's BatchNorm statistics on clean (unaugmented)
training crops.

During training the running mean/variance of every BatchNorm layer are
averaged over *augmented* batches (noise, masks, band-limiting, mixing),
while the network is used on unaugmented audio.  This replaces them with
the statistics of clean training crops (weights untouched), then measures
the valid split the same way small_cnn.py does.

  /usr/bin/python3 -m train.recalibrate_bn runs/final/best.pt runs/final/best-bn.pt
"""

import argparse
import sys
import time

import numpy as np
import torch
from torch import nn

from .export import load_checkpoint
from .genre_augment import InputNorm, normalise
from .genre_data import BalancedSampler, FeatureSet
from .small_cnn import evaluate


def recalibrate(model, sampler, norm, batches, batch):
    """Replace every BatchNorm layer's running statistics by their plain
    average over `batches` clean training crops; leaves the model in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over every batch below
    model.eval()
    for bn in bns:
        bn.train()
    with torch.no_grad():
        for _ in range(batches):
            b = sampler.batch(batch, 0.0)
            model(normalise(b.crops, b.valid, norm))
    model.eval()


def add_recalibration_args(p):
    """The options of re-estimating BatchNorm and measuring valid, shared
    with average_checkpoints.py."""
    p.add_argument("--features", help="features folder (default: the one the (first) checkpoint was trained on)")
    p.add_argument("--batches", type=int, default=60, help="clean training batches for the statistics")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-hop", type=int, default=312, help="valid window hop in frames")


def parse_recalibration_args(p, argv):
    args = p.parse_args(argv)
    if args.batches < 1 or args.batch < 1:
        p.error("--batches and --batch must be >= 1")
    return args


def main(argv=None):
    p = argparse.ArgumentParser(description="Re-estimate BatchNorm statistics on clean training crops.")
    p.add_argument("checkpoint")
    p.add_argument("output")
    add_recalibration_args(p)
    args = parse_recalibration_args(p, argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    ckpt, model = load_checkpoint(args.checkpoint)
    data = FeatureSet(args.features or ckpt["features_dir"])
    if data.labels != ckpt["labels"]:
        raise SystemExit(f"error: the features' labels {data.labels} differ from the checkpoint's {ckpt['labels']}")
    norm = InputNorm(data.log_offset, torch.from_numpy(ckpt["norm_mean"]), torch.from_numpy(ckpt["norm_std"]))
    train_clips, valid_clips = data.split("train"), data.split("valid")
    sampler = BalancedSampler(train_clips, len(data.labels), data.window_frames, np.random.default_rng(args.seed),
                              ckpt.get("args", {}).get("source_power", 0.5))

    recalibrate(model, sampler, norm, args.batches, args.batch)
    m = evaluate(model, valid_clips, len(data.labels), data.labels, data.window_frames, args.eval_hop, norm)
    before = ckpt.get("valid") or {}
    print(f"valid balanced window acc {100 * before.get('balanced_window_acc', float('nan')):.1f}% -> "
          f"{100 * m['balanced_window_acc']:.1f}%, window {100 * before.get('window_acc', float('nan')):.1f}% -> "
          f"{100 * m['window_acc']:.1f}%, clip {100 * before.get('clip_acc', float('nan')):.1f}% -> "
          f"{100 * m['clip_acc']:.1f}%, lowest genre {100 * m['min_genre_recall']:.1f}%", file=sys.stderr)
    out = dict(ckpt, state_dict=model.state_dict(), valid=m, valid_before_bn_recalibration=before,
               bn_recalibration=f"{args.batches}x{args.batch} clean train crops, seed {args.seed}",
               seconds=ckpt.get("seconds", 0) + time.time() - started)
    torch.save(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
