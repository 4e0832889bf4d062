#!/usr/bin/python3
"""train/make_manifest.py and manifests without split or source (suite
`train`).  On a temporary FOLDER/<label>/ tree of small generated WAVs,
with an unreadable file, an empty WAV, a non-audio file and a label with
one clip: the manifest lists exactly the readable audio with the folder
names as labels, paths relative to the manifest, a split that is the same
on every run and does not depend on where the manifest is written, all of
an artist's files in one split with --artist-regex; the bad file and the
small label are reported and the exit status is 1; a clean tree exits 0
and a usage error 2.  Then the training side (train/genre_data.py and
evaluate.py's reader) takes an index or manifest with only file and label.

usage: test_make_manifest.py SOURCE_ROOT WORK_DIR
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import soundfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402





def wav(path, seconds=0.5, rate=8000, freq=440.0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype="PCM_16")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, work = sys.argv[1:3]
    tool = [sys.executable, "-m", "train.make_manifest"]
    shutil.rmtree(work, ignore_errors=True)
    music = os.path.join(work, "music")
    artists = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"]
    for i in range(12):
        wav(os.path.join(music, "rock", f"{artists[i % 6]} - song{i}.wav"), freq=200 + 20 * i)
    for i in range(6):
        wav(os.path.join(music, "jazz", "live", f"{artists[i % 3]} - take{i}.wav"), freq=300 + 10 * i)
    wav(os.path.join(music, "solo", "Zed - only.wav"))
    with open(os.path.join(music, "rock", "broken.wav"), "wb") as f:
        f.write(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    soundfile.write(os.path.join(music, "jazz", "empty.wav"), np.zeros(0, np.float32), 8000)
    with open(os.path.join(music, "rock", "notes.txt"), "w") as f:
        f.write("not audio\n")

    out = os.path.join(work, "manifest.csv")
    r = subprocess.run(tool + [music, out], capture_output=True, text=True)
    check(r.returncode == 1, f"exit 1 with an unreadable file and a one-clip label (got {r.returncode})")
    check("broken.wav" in r.stderr and "empty.wav" in r.stderr and "notes.txt" not in r.stderr,
          f"unreadable files reported, non-audio ignored: {r.stderr.strip()!r}")
    check("label solo: 1 readable clip(s)" in r.stderr, "the one-clip label is reported")
    rows = read_csv(out) if os.path.exists(out) else []
    check(len(rows) == 19, f"19 readable files in the manifest (got {len(rows)})")
    check(rows and list(rows[0]) == ["file", "label", "split"], f"columns file,label,split: {list(rows[0]) if rows else None}")
    labels = {r["label"] for r in rows}
    check(labels == {"rock", "jazz", "solo"}, f"labels from the folder names: {sorted(labels)}")
    check(all(os.path.isfile(os.path.join(work, r["file"])) and not os.path.isabs(r["file"]) for r in rows),
          "file paths relative to the manifest's folder and existing")
    check(any("live" in r["file"] for r in rows), "files in subfolders of a label are found")
    splits = {r["split"] for r in rows}
    check(splits <= {"train", "valid"} and "train" in splits and "valid" in splits,
          f"splits train and valid only, both used: {sorted(splits)}")

    # Deterministic, and independent of where the manifest is written.
    subprocess.run(tool + [music, out], capture_output=True, text=True)
    check(read_csv(out) == rows, "a second run writes the same manifest")
    other = os.path.join(work, "elsewhere", "deeper", "m.csv")
    subprocess.run(tool + [music, other], capture_output=True, text=True)
    moved = read_csv(other)
    check([(os.path.basename(r["file"]), r["split"]) for r in moved]
          == [(os.path.basename(r["file"]), r["split"]) for r in rows]
          and all(os.path.isfile(os.path.join(os.path.dirname(other), r["file"])) for r in moved),
          "same splits and resolvable paths for a manifest written elsewhere")

    # Fractions: --valid 0 puts everything in train; --valid 0.5 --test 0.3 uses all three.
    subprocess.run(tool + [music, out, "--valid", "0"], capture_output=True, text=True)
    check({r["split"] for r in read_csv(out)} == {"train"}, "--valid 0: every file in train")
    subprocess.run(tool + [music, out, "--valid", "0.5", "--test", "0.3"], capture_output=True, text=True)
    check({r["split"] for r in read_csv(out)} == {"train", "valid", "test"}, "--valid 0.5 --test 0.3: three splits")

    # Artist-level split: every artist's files share one split; a file the
    # regex does not match is reported.
    r = subprocess.run(tool + [music, out, "--artist-regex", r"^(?P<artist>.+?) - ", "--source", "mine"],
                       capture_output=True, text=True)
    arows = read_csv(out)
    check(list(arows[0]) == ["file", "label", "split", "source", "artist"] and
          all(r["source"] == "mine" for r in arows), f"artist and source columns: {list(arows[0])}")
    by_artist = {}
    for row in arows:
        by_artist.setdefault(row["artist"], set()).add(row["split"])
    check(set(by_artist) == set(artists) | {"Zed"} and all(len(s) == 1 for s in by_artist.values()),
          f"one split per artist: {by_artist}")
    check(len({next(iter(s)) for s in by_artist.values()}) == 2, "artists spread over train and valid")
    r = subprocess.run(tool + [music, out, "--artist-regex", r"^Ann - "], capture_output=True, text=True)
    check("does not match" in r.stderr and "Bob - song1.wav" in r.stderr, "unmatched files reported")

    # A clean tree exits 0; usage errors exit 2.
    clean = os.path.join(work, "clean")
    for label in ("a", "b"):
        for i in range(3):
            wav(os.path.join(clean, label, f"{i}.flac"), freq=100 + 50 * i)
    r = subprocess.run(tool + [clean, os.path.join(work, "clean.csv"), "--valid", "0.3"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and r.stderr == "" and len(read_csv(os.path.join(work, "clean.csv"))) == 6,
          f"clean tree (FLAC): exit {r.returncode}, no complaints {r.stderr.strip()!r}")
    for args, what in [([os.path.join(work, "nope"), out], "missing folder"),
                       ([clean, out, "--valid", "1.2"], "bad fraction"),
                       ([clean, out, "--artist-regex", "("], "bad regex"),
                       ([clean, out, "--min-clips", "0"], "--min-clips 0")]:
        r = subprocess.run(tool + args, capture_output=True, text=True)
        check(r.returncode == 2 and r.stderr, f"{what}: usage error (exit {r.returncode})")
    empty = os.path.join(work, "nothing", "x")
    os.makedirs(empty)
    r = subprocess.run(tool + [os.path.dirname(empty), out], capture_output=True, text=True)
    check(r.returncode == 2 and "no readable audio" in r.stderr, f"no audio at all: exit {r.returncode}")

    # The training side: an index with only file, label and npy (what
    # genre-features writes for a file,label manifest) loads, with the
    # split make_manifest.py would give and source "unknown".
    from train import evaluate, genre_data
    feats = os.path.join(work, "features")
    os.makedirs(os.path.join(feats, "feat"))
    with open(os.path.join(feats, "spec.json"), "w") as f:
        json.dump({"n_mels": 4, "log_offset": 1e-3, "window_frames": 8}, f)
    names = [f"x{i}.wav" for i in range(40)]
    with open(os.path.join(feats, "index.csv"), "w") as f:
        f.write("file,label,npy,frames,seconds\n")
        for i, name in enumerate(names):
            np.save(os.path.join(feats, "feat", f"{i:05d}.npy"), np.zeros((10, 4), np.float32))
            f.write(f"{name},{'ab'[i % 2]},feat/{i:05d}.npy,10,0.16\n")
    data = genre_data.FeatureSet(feats)
    want = {n: genre_data.hash_split(n) for n in names}
    check(len(data.clips) == 40 and all(c.split == want[c.file] for c in data.clips)
          and all(c.source == "unknown" for c in data.clips),
          "FeatureSet: no split or source column -> hash split, source unknown")
    check(0 < len(data.split("valid")) < 40 and len(data.split("train")) + len(data.split("valid")) == 40,
          f"hash split gives both splits ({len(data.split('train'))} train, {len(data.split('valid'))} valid)")
    manifest = os.path.join(work, "plain.csv")
    with open(manifest, "w") as f:
        f.write("file,label\n" + "".join(f"{n},{'ab'[i % 2]}\n" for i, n in enumerate(names)))
    valid = evaluate.read_manifest(manifest, "valid")
    check(sorted(r["file"] for r in valid) == sorted(n for n in names if want[n] == "valid"),
          "evaluate.py: a file,label manifest's valid split is the same hash split")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
