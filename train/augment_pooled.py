"""Augmented passes over the training clips for the frozen-trunk head
(transfer_head.py --augmented): each pass draws one recording chain per
clip -- level, EQ, band-limiting and a noise floor, the project's
feature-domain augmentation (genre_augment.py) -- applies it to the clip's
whole mel power, runs the frozen front-end and mid-end over the whole clip
as a stream would, and keeps the max+mean pooled features of every training
window (1506 values each).

Why whole clips and not windows: the trunk's context reaches 64 frames
beyond a window's edges, so a window must be cut from a clip the trunk saw
whole; and one chain per clip is what a recording is (one source, one
microphone), so the head cannot learn the source's sound as the genre.

  /usr/bin/python3 -m train.augment_pooled --features FEATURES_DIR \
      --weights ../shared/pretrained/musicnn/MSD_musicnn.h5 --pass 1 --out AUG_DIR

AUG_DIR gets pass-N.npz (X [windows, 1506] float32, clip [windows]: the
clip of each window, hop) and pass-N.json (weights sha256, features index
sha256, augmentation settings, seed).  Mixing and masking are left out:
mixing belongs to the head's mixup, masks to a network that sees frames.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from . import musicnn
from .embed import check_spec, embed_clip
from .genre_augment import AugmentConfig, augment_power
from .genre_data import FeatureSet, sha256_file, window_starts

WINDOW = 624
LOG_OFFSET = 1e-4   # musicnn's features are raw ln(E + 1e-4) (embed.check_spec)


def augmented_logmel(raw, centres_hz, cfg, gen):
    """One recording chain over a whole clip: raw ln(E + 1e-4) [T, F] -> the same, augmented."""
    e = (torch.exp(torch.from_numpy(raw)) - LOG_OFFSET).clamp_min(0.0)[None]
    no_mix = torch.zeros(1, dtype=torch.bool)
    e = augment_power(e, e, no_mix, torch.ones(1), torch.from_numpy(centres_hz), cfg, gen)
    return torch.log(e + LOG_OFFSET)[0].numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True)
    p.add_argument("--weights", required=True, help="musicnn Keras HDF5 file")
    p.add_argument("--pass", dest="pass_no", type=int, required=True, help="pass number, also the seed")
    p.add_argument("--out", required=True)
    p.add_argument("--hop", type=int, default=31, help="frames between training windows")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    spec_path = os.path.join(args.features, "spec.json")
    if not os.path.isfile(spec_path):
        raise SystemExit(f"error: {spec_path} not found (run genre-features first)")
    with open(spec_path) as f:
        check_spec(json.load(f), spec_path)
    data = FeatureSet(args.features, splits=("train",))
    try:
        net = musicnn.load_keras_weights(args.weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    net.eval()
    cfg = AugmentConfig()
    centres = data.band_centres_hz()
    gen = torch.Generator().manual_seed(1000 + args.pass_no)

    t0 = time.time()
    X, files = [], []
    with torch.no_grad():
        for n, clip in enumerate(data.clips, start=1):
            raw = augmented_logmel(clip.logmel, centres, cfg, gen)
            emb = embed_clip(net.front, raw)                                   # [T, 561]
            feats = net.mid(torch.from_numpy(np.ascontiguousarray(emb.T))[None])[0]
            for s in window_starts(feats.shape[1], WINDOW, args.hop):
                X.append(musicnn.time_maxmean(feats[None, :, s:s + WINDOW])[0].numpy())
                files.append(clip.file)
            if n % 50 == 0:
                print(f"augment pass {args.pass_no}: {n}/{len(data.clips)} clips, {time.time() - t0:.0f} s",
                      file=sys.stderr, flush=True)

    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, f"pass-{args.pass_no}")
    np.savez(base + ".tmp.npz", X=np.stack(X).astype(np.float32), clip=np.array(files), hop=args.hop)
    os.replace(base + ".tmp.npz", base + ".npz")
    with open(base + ".json", "w") as f:
        json.dump({"weights": os.path.abspath(args.weights), "weights_sha256": sha256_file(args.weights),
                   "features_index_sha256": sha256_file(os.path.join(args.features, "index.csv")),
                   "augment": vars(cfg), "seed": 1000 + args.pass_no, "hop": args.hop,
                   "clips": len(data.clips), "windows": len(files), "seconds": round(time.time() - t0)},
                  f, indent=1)
    print(f"augment pass {args.pass_no}: {len(data.clips)} clips, {len(files)} windows in "
          f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
