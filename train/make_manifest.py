"""Make a training manifest from labelled folders.

  /usr/bin/python3 -m train.make_manifest FOLDER OUT.csv [--valid 0.2] [--test 0]
        [--artist-regex REGEX] [--source NAME] [--min-clips 2]

FOLDER/<label>/... holds the audio (.flac .wav .ogg .opus .mp3, in
subfolders too); the folder name is the label.  OUT.csv gets one row per
readable file: file (relative to OUT.csv's folder, as genre-features reads
it), label, split, and source with --source, artist with --artist-regex.

The split is deterministic (genre_data.hash_split): by the sha256 of the
file's path below FOLDER (file-level), or with --artist-regex of the artist
its file name yields (artist-level: all of an artist's files in one split,
so no artist is both trained on and evaluated).  The regex is searched in
the file name without extension; the artist is its group "artist", else its
first group, else the whole match.  A file it does not match is split by
its path and reported.

Every file is opened with soundfile (libsndfile) to check it can be read;
one that cannot, or that holds no audio, is left out and reported.  A label
with fewer than --min-clips readable files, or with none in the train
split, is reported.  Problems go to stderr; the manifest is written
anyway.  Exit status: 0 no problem, 1 some file unreadable or some label
with too few clips, 2 usage error (no FOLDER, no labelled audio).
"""

import argparse
import csv
import os
import re
import sys

import soundfile

from .genre_data import DEFAULT_VALID_FRACTION, hash_split

AUDIO_EXTENSIONS = (".flac", ".wav", ".ogg", ".opus", ".mp3")


def audio_files(label_dir):
    """The audio files below label_dir, sorted (the manifest's row order)."""
    found = []
    for root, dirs, files in os.walk(label_dir):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files)
                  if f.lower().endswith(AUDIO_EXTENSIONS) and not f.startswith(".")]
    return found


def unreadable_reason(path):
    """None if soundfile reads the file and it has audio, else why not."""
    try:
        info = soundfile.info(path)
    except Exception as e:  # soundfile raises RuntimeError, LibsndfileError, ...
        return str(e).strip() or type(e).__name__
    if info.frames <= 0 or info.samplerate <= 0:
        return "no audio (0 frames)"
    return None


def artist_of(regex, path):
    m = regex.search(os.path.splitext(os.path.basename(path))[0])
    if not m:
        return None
    if "artist" in regex.groupindex:
        return m.group("artist")
    return m.group(1) if regex.groups else m.group(0)


def main():
    p = argparse.ArgumentParser(description="Make a manifest (file,label,split) from FOLDER/<label>/ audio folders.")
    p.add_argument("folder", help="folder with one subfolder of audio per label")
    p.add_argument("out", help="manifest to write (CSV)")
    p.add_argument("--valid", type=float, default=DEFAULT_VALID_FRACTION,
                   help=f"fraction for the valid split (default {DEFAULT_VALID_FRACTION})")
    p.add_argument("--test", type=float, default=0.0, help="fraction for the test split (default 0)")
    p.add_argument("--artist-regex", help="split by artist: regex giving the artist from a file name")
    p.add_argument("--source", help="value of a source column (e.g. the collection's name)")
    p.add_argument("--min-clips", type=int, default=2,
                   help="report labels with fewer readable files (default 2)")
    args = p.parse_args()
    if not (0 <= args.valid and 0 <= args.test and args.valid + args.test < 1):
        p.error("--valid and --test must be >= 0 with a sum below 1")
    if args.min_clips < 1:
        p.error("--min-clips must be at least 1")
    try:
        regex = re.compile(args.artist_regex) if args.artist_regex else None
    except re.error as e:
        p.error(f"--artist-regex: {e}")
    if not os.path.isdir(args.folder):
        p.error(f"{args.folder} is not a folder")

    folder = os.path.abspath(args.folder)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    labels = sorted(d for d in os.listdir(folder)
                    if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    rows, unreadable, unmatched = [], [], []
    for label in labels:
        for path in audio_files(os.path.join(folder, label)):
            why = unreadable_reason(path)
            if why:
                unreadable.append((path, why))
                continue
            key = os.path.relpath(path, folder)
            row = {"file": os.path.relpath(path, out_dir), "label": label}
            if regex:
                artist = artist_of(regex, path)
                if artist is None:
                    unmatched.append(path)
                row["artist"] = artist or ""
                key = ("artist:" + artist) if artist else key
            row["split"] = hash_split(key, args.valid, args.test)
            if args.source:
                row["source"] = args.source
            rows.append(row)
    if not rows:
        print(f"make_manifest: no readable audio in {args.folder}/<label>/ "
              f"({', '.join(AUDIO_EXTENSIONS)})", file=sys.stderr)
        for path, why in unreadable:
            print(f"make_manifest: cannot read {path}: {why}", file=sys.stderr)
        return 2

    columns = ["file", "label", "split"] + (["source"] if args.source else []) \
        + (["artist"] if regex else [])
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    problems = 0
    for path, why in unreadable:
        print(f"make_manifest: cannot read {path}: {why} (left out)", file=sys.stderr)
        problems += 1
    for path in unmatched:
        print(f"make_manifest: warning: --artist-regex does not match {path}; split by its path",
              file=sys.stderr)
    print(f"{'label':<20} {'clips':>6} {'train':>6} {'valid':>6} {'test':>6}")
    for label in labels:
        splits = [r["split"] for r in rows if r["label"] == label]
        n = {s: splits.count(s) for s in ("train", "valid", "test")}
        print(f"{label:<20} {len(splits):>6} {n['train']:>6} {n['valid']:>6} {n['test']:>6}")
        if len(splits) < args.min_clips:
            print(f"make_manifest: label {label}: {len(splits)} readable clip(s), fewer than "
                  f"--min-clips {args.min_clips}", file=sys.stderr)
            problems += 1
        elif n["train"] == 0:
            print(f"make_manifest: label {label}: no clip in the train split", file=sys.stderr)
            problems += 1
    print(f"{len(rows)} files, {len(labels)} labels -> {args.out}"
          + (f"; {problems} problem(s), see above" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
