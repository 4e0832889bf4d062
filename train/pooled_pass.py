"""An augmented pass for transfer_head.py --augmented from a folder of
per-frame trunk features (`genre-features --model M.gmdl --node features`
on train/augment_audio.py's copies: [frames, 753] per clip, musicnn's
front-end + mid-end as the daemon computes them): max and mean over every
training window (every --hop frames, as transfer_head.py's clean windows),
interleaved per channel like musicnn.time_maxmean.

  /usr/bin/python3 -m train.pooled_pass FEATS_DIR OUT.npz --model M.gmdl \
      --weights MSD_musicnn.h5 [--orig-column orig] [--hop 31]

OUT.npz holds X [windows, 1506] and clip (each window's original clip, the
manifest `file` of --orig-column); OUT.json says how it was made: the trunk
weights (checked against the model's provenance), the model, the features'
manifest and the augmentation of the copies.
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np

from . import genre_model_file as gmf
from .genre_data import row_split, sha256_file, window_starts

WINDOW = 624


def window_maxmean(f, starts):
    """f [frames, C] -> [len(starts), 2C]: (max_0, mean_0, max_1, ...)."""
    out = []
    for s in starts:
        w = f[s:s + WINDOW].astype(np.float64)
        out.append(np.stack([w.max(0), w.mean(0)], 1).reshape(-1))
    return np.array(out, dtype=np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("feats")
    p.add_argument("out")
    p.add_argument("--model", required=True, help="the model file genre-features ran")
    p.add_argument("--weights", required=True, help="its trunk's pretrained weights (HDF5)")
    p.add_argument("--orig-column", help="manifest column naming each copy's original clip")
    p.add_argument("--hop", type=int, default=31)
    a = p.parse_args()
    meta = gmf.read_model(a.model)["meta"]
    weights_sha256 = sha256_file(a.weights)
    if meta.get("source_weights_sha256") != weights_sha256:
        raise SystemExit(f"error: {a.model}'s trunk is not {a.weights} "
                         f"(sha256 {meta.get('source_weights_sha256')} vs {weights_sha256})")
    with open(os.path.join(a.feats, "index.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if row_split(r) == "train"]
    X, clips, t0 = [], [], time.time()
    for r in rows:
        f = np.load(os.path.join(a.feats, r["npy"]))
        starts = window_starts(f.shape[0], WINDOW, a.hop)
        X.append(window_maxmean(f, starts))
        clips += [r[a.orig_column] if a.orig_column else r["file"]] * len(starts)
    X = np.concatenate(X)
    np.savez(a.out + ".tmp.npz", X=X, clip=np.array(clips))
    os.replace(a.out + ".tmp.npz", a.out)
    info = {"weights_sha256": weights_sha256, "model": os.path.abspath(a.model),
            "model_sha256": sha256_file(a.model),
            "features_index_sha256": sha256_file(os.path.join(a.feats, "index.csv")),
            "augment": "audio copies, train/augment_audio.py (see their manifest)", "hop": a.hop,
            "windows": int(len(X))}
    out_json = a.out[:-len(".npz")] + ".json" if a.out.endswith(".npz") else a.out + ".json"
    with open(out_json, "w") as f:
        json.dump(info, f, indent=1)
    print(f"{len(rows)} clips, {len(X)} windows x {X.shape[1]} -> {a.out} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
