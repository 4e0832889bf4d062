"""Average the weights of checkpoints that share an ancestor (a "model
soup"), re-estimate BatchNorm statistics on clean training crops, and
measure valid the same way small_cnn.py does.  With --outputs, measure instead
what averaging the checkpoints' output probabilities (an ensemble) would
give; the model file holds one network, so that is a measurement only.

Runs continued from one checkpoint (small_cnn.py --init) with different seeds
or augmentation end in nearby points of the same basin; their weight
average is one network of the same size and cost that is often better
than either, where averaging unrelated runs gives noise.  BatchNorm
statistics do not average like weights, so they are measured anew.

  /usr/bin/python3 -m train.average_checkpoints runs/a/best.pt runs/b/best.pt --out runs/soup.pt
  /usr/bin/python3 -m train.average_checkpoints --outputs runs/a/best.pt runs/c/best.pt
"""

import argparse
import sys
import time

import numpy as np
import torch

from .export import load_checkpoint
from .genre_augment import InputNorm
from .genre_data import BalancedSampler, FeatureSet, command_line
from .recalibrate_bn import add_recalibration_args, parse_recalibration_args, recalibrate
from .small_cnn import evaluate, probability_metrics, window_probabilities


def average_state(states):
    """Mean of the floating-point tensors; integer ones (BatchNorm's batch
    counters) are taken from the first state."""
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(s[key] for s in states) / len(states)
        else:
            out[key] = first.clone()
    return out


def report(what, m):
    print(f"{what}: valid balanced {100 * m['balanced_window_acc']:.1f}%, window {100 * m['window_acc']:.1f}%, "
          f"clip {100 * m['clip_acc']:.1f}%, lowest genre {100 * m['min_genre_recall']:.1f}%", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description="Average checkpoints' weights, re-estimate BatchNorm, measure valid.")
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--out", help="where to write the averaged checkpoint (weight averaging)")
    p.add_argument("--outputs", action="store_true",
                   help="average output probabilities instead of weights (any architectures); measure only")
    add_recalibration_args(p)
    args = parse_recalibration_args(p, argv)
    if len(args.checkpoints) < 2:
        p.error("give at least two checkpoints")
    if args.outputs == bool(args.out):
        p.error("give --out (weight averaging) or --outputs (output averaging), not both")
    torch.set_num_threads(args.threads)
    started = time.time()
    loaded = [load_checkpoint(path) for path in args.checkpoints]
    ckpt, model = loaded[0]
    data = FeatureSet(args.features or ckpt["features_dir"])
    for path, (c, _) in zip(args.checkpoints, loaded):
        if data.labels != c["labels"]:
            raise SystemExit(f"error: the features' labels {data.labels} differ from {path}'s {c['labels']}")
        v = c.get("valid") or {}
        print(f"{path}: valid balanced {100 * v.get('balanced_window_acc', float('nan')):.1f}%, "
              f"window {100 * v.get('window_acc', float('nan')):.1f}%", file=sys.stderr)
    valid_clips = data.split("valid")
    if args.outputs:
        total, win_clip = 0.0, None
        for c, m in loaded:
            norm = InputNorm(data.log_offset, torch.from_numpy(c["norm_mean"]),
                             torch.from_numpy(c["norm_std"]))
            probs, win_clip = window_probabilities(m, valid_clips, len(data.labels), data.window_frames,
                                                   args.eval_hop, norm)
            total = total + probs
        report("output average", probability_metrics(total / len(loaded), win_clip, valid_clips, data.labels))
        return 0
    for path, (other, _) in zip(args.checkpoints[1:], loaded[1:]):
        for key in ("arch", "labels", "spec"):
            if other[key] != ckpt[key]:
                raise SystemExit(f"error: {path} has a different {key} from {args.checkpoints[0]}")
        for key in ("norm_mean", "norm_std"):
            if not np.array_equal(other[key], ckpt[key]):
                raise SystemExit(f"error: {path} was trained with other normalisation ({key})")
    model.load_state_dict(average_state([m.state_dict() for _, m in loaded]))
    norm = InputNorm(data.log_offset, torch.from_numpy(ckpt["norm_mean"]), torch.from_numpy(ckpt["norm_std"]))
    sampler = BalancedSampler(data.split("train"), len(data.labels), data.window_frames,
                              np.random.default_rng(args.seed), ckpt.get("args", {}).get("source_power", 0.5))
    recalibrate(model, sampler, norm, args.batches, args.batch)
    m = evaluate(model, valid_clips, len(data.labels), data.labels, data.window_frames, args.eval_hop, norm)
    report("weight average", m)
    out = dict(ckpt, state_dict=model.state_dict(), valid=m, averaged_from=list(args.checkpoints),
               bn_recalibration=f"{args.batches}x{args.batch} clean train crops, seed {args.seed}",
               seconds=sum(c.get("seconds", 0) for c, _ in loaded) + time.time() - started,
               command=command_line())
    torch.save(out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
