"""Pitch- or tempo-shifted copies of a manifest's training clips, made on the
AUDIO with SoX (WSOLA `pitch` / `tempo -m`), one random draw per clip, with
a manifest of the copies (extra columns `orig`, the original's `file`, and
`amount`).  The copies go through the frozen trunk as the daemon computes it
(`genre-features --model M.gmdl --node features`), then `python3 -m
train.pooled_pass` pools their windows into an augmented pass for transfer_head.py --augmented
(doc/training.md, "Transfer model").

  /usr/bin/python3 -m train.augment_audio MANIFEST.csv OUT_DIR --kind pitch|tempo --seed N

pitch: +-1 or +-2 semitones (one of the four, uniformly); tempo: a factor
drawn uniformly from [0.90, 0.95] or [1.05, 1.10].  Decoding is by
python3-soundfile (libsndfile, as the C tool decodes); the copies are float
WAV at the original rate, so the C front-end resamples them as it does the
originals.  A copy that exists already is kept (the draws are the same).
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np
import soundfile as sf


def draw(kind, rng):
    """(amount, SoX effect) for one clip."""
    if kind == "pitch":
        amount = float(rng.choice([-2, -1, 1, 2]))
        return amount, ["pitch", f"{100 * amount:.0f}"]
    amount = float(rng.uniform(0.90, 0.95) if rng.random() < 0.5 else rng.uniform(1.05, 1.10))
    return amount, ["tempo", "-m", f"{amount:.4f}"]


def shifted_copy(src, dst, effect):
    """The mono mix of src through SoX's effect, as float WAV at src's rate."""
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    x = x.mean(1)                                   # as the C tool downmixes
    # SoX works in 32-bit integers and clips at full scale, and decoded Opus
    # overshoots it: scale down by 4 (12 dB) on the way in, back on the way out.
    y = subprocess.run(["sox", "-t", "f32", "-r", str(sr), "-c", "1", "-", "-t", "f32", "-", *effect],
                       input=(x * 0.25).tobytes(), capture_output=True, check=True).stdout
    sf.write(dst + ".tmp.wav", np.frombuffer(y, dtype=np.float32) * 4.0, sr, subtype="FLOAT",
             format="WAV")
    os.replace(dst + ".tmp.wav", dst)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest")
    p.add_argument("out")
    p.add_argument("--kind", choices=("pitch", "tempo"), required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", default="train")
    a = p.parse_args()

    base = os.path.dirname(os.path.abspath(a.manifest))
    with open(a.manifest, newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, [r for r in reader if r.get("split") == a.split]
    rng = np.random.default_rng(a.seed)
    os.makedirs(os.path.join(a.out, "audio"), exist_ok=True)
    out_rows, skipped, t0 = [], [], time.time()
    for n, r in enumerate(rows):
        amount, effect = draw(a.kind, rng)
        src = r["file"] if os.path.isabs(r["file"]) else os.path.join(base, r["file"])
        dst = os.path.join(a.out, "audio", f"{n:05d}.wav")
        if not os.path.exists(dst):
            try:
                shifted_copy(src, dst, effect)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                # Reported and listed, never silently lost from the counts.
                print(f"skipped {r['file']}: {e}", file=sys.stderr, flush=True)
                skipped.append({"file": r["file"], "error": str(e).strip()})
                continue
        out_rows.append(dict(r, orig=r["file"], file=os.path.abspath(dst), amount=f"{amount:g}"))
        if (n + 1) % 100 == 0:
            print(f"{a.kind}: {n + 1}/{len(rows)} clips, {time.time() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields + ["orig", "amount"])
        w.writeheader()
        w.writerows(out_rows)
    with open(os.path.join(a.out, "errors.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "error"])
        w.writeheader()
        w.writerows(skipped)
    print(f"{a.kind}: {len(out_rows)} clips, {len(skipped)} skipped (errors.csv), in "
          f"{time.time() - t0:.0f} s -> {a.out}/manifest.csv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
