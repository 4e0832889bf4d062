"""Run the frozen front-end of a pretrained musicnn over every clip of a
features folder and cache its output, one frame at a time as the stream
classifier computes it: [frames, 561] per clip, over the whole clip (zero
padding only at the clip's start and end, as for a file streamed through
libgenre), so training windows see the context a live stream has.

  /usr/bin/python3 -m train.embed --features FEATURES_DIR \
      --weights ../shared/pretrained/musicnn/MSD_musicnn.h5 --out EMB_DIR

FEATURES_DIR is what genre-features wrote with musicnn's front-end
(--mel-norm area --log-offset 1e-4: raw ln(E + 1e-4)).  EMB_DIR gets
emb/NNNNN.npy (float32 [frames, 561]), index.csv (the features index with
`npy` pointing at the embeddings) and embed.json (weights, their sha256,
the features index's sha256).  Clips whose embedding exists are skipped, so
an interrupted run resumes.
"""

import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import torch

from . import musicnn
from .genre_data import sha256_file


def to_network_input(raw_logmel):
    """Raw ln(E + 1e-4) -> log10(1 + 1e4 E), musicnn's input."""
    return (raw_logmel - musicnn.LOG10_MEAN) / musicnn.LOG10_STD


def check_spec(spec, path):
    want = musicnn.FRONTEND_SPEC
    for key in ("sample_rate", "n_fft", "hop", "n_mels", "fmin", "fmax", "mel_scale", "mel_norm"):
        if key not in spec or spec[key] != want[key]:
            raise SystemExit(f"error: {path}: {key} = {spec.get(key)!r}, musicnn needs {want[key]!r} "
                             f"(make the features with --mel-norm area --log-offset 1e-4)")
    if abs(float(spec["log_offset"]) - want["log_offset"]) > 1e-9:
        raise SystemExit(f"error: {path}: log_offset {spec['log_offset']}, musicnn needs 1e-4")


@torch.no_grad()
def embed_clip(front, raw, chunk=2048):
    """[frames, 96] raw log-mel -> [frames, 561].  Long clips go in chunks
    with enough context on both sides (the widest kernel, 128 frames) that
    the result equals one pass over the whole clip."""
    x = torch.from_numpy(to_network_input(raw).astype(np.float32))
    n, ctx = x.shape[0], 64
    out = []
    for start in range(0, n, chunk):
        lo, hi = max(0, start - ctx), min(n, start + chunk + ctx)
        y = front(x[lo:hi].unsqueeze(0))[0]            # [561, hi - lo]
        out.append(y[:, start - lo:start - lo + min(chunk, n - start)])
    return torch.cat(out, dim=1).T.contiguous().numpy()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True)
    p.add_argument("--weights", required=True, help="musicnn Keras HDF5 file")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    spec_path = os.path.join(args.features, "spec.json")
    index_path = os.path.join(args.features, "index.csv")
    for path in (spec_path, index_path):
        if not os.path.isfile(path):
            raise SystemExit(f"error: {path} not found (run genre-features first)")
    with open(spec_path) as f:
        check_spec(json.load(f), spec_path)
    try:
        net = musicnn.load_keras_weights(args.weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    front = net.front.eval()

    os.makedirs(os.path.join(args.out, "emb"), exist_ok=True)
    with open(index_path, newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    t0, done = time.time(), 0
    for row in rows:
        src = row["npy"] if os.path.isabs(row["npy"]) else os.path.join(args.features, row["npy"])
        name = os.path.join("emb", os.path.basename(src))
        dst = os.path.join(args.out, name)
        if not os.path.exists(dst):
            raw = np.load(src)
            emb = embed_clip(front, raw)
            np.save(dst + ".tmp.npy", emb)
            os.replace(dst + ".tmp.npy", dst)
            done += 1
            if done % 50 == 0:
                print(f"embed: {done} clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        row["npy"] = name
    with open(os.path.join(args.out, "index.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(spec_path) as f:
        spec = json.load(f)
    # Clips genre-features could not decode are not in its index: say how
    # many and which, here and in embed.json, so no count hides them.
    skipped = []
    errors_path = os.path.join(args.features, "errors.csv")
    if os.path.isfile(errors_path):
        with open(errors_path, newline="") as f:
            skipped = [{"file": r.get("file", ""), "error": r.get("error", "")} for r in csv.DictReader(f)]
    for item in skipped:
        print(f"embed: skipped {item['file']}: {item['error']}", file=sys.stderr)
    with open(os.path.join(args.out, "embed.json"), "w") as f:
        json.dump({"weights": os.path.abspath(args.weights), "weights_sha256": sha256_file(args.weights),
                   "features_index_sha256": sha256_file(index_path), "frontend": spec,
                   "channels": musicnn.FRONTEND_CHANNELS, "layout": "float32 [frames, 561], C order",
                   "clips": len(rows), "skipped": skipped},
                  f, indent=1)
    print(f"embed: {len(rows)} clips ({done} computed, {len(skipped)} skipped: not decodable) in "
          f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
