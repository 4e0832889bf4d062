#!/usr/bin/python3
"""genre-classify --segments, --plot and directory operands (test
`test_genre_classify_timeline`), with the shipped model on real clips from the shared
data: a classical clip followed by a metal clip must give at least two
segments of different genres, and the plot's band must change colour.

  classify_timeline_test.py GENRE_CLASSIFY MODEL DATA_DIR WORKDIR

Skips (77) without the shared data."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import soundfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402



def run(exe, args, **kw):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=300, **kw)


def png_pixels(path):
    """(width, height, RGB array) of an 8-bit RGB or RGBA, non-interlaced
    PNG: the chunks, zlib and the five row filters of the PNG standard."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height = int.from_bytes(ihdr[0:4], "big"), int.from_bytes(ihdr[4:8], "big")
    depth, colour, interlace = ihdr[8], ihdr[9], ihdr[12]
    assert depth == 8 and colour in (2, 6) and interlace == 0, ihdr
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), np.int32)
    prev = np.zeros(width * bpp, np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        cur = np.zeros_like(line)
        if kind in (0, 2):
            cur = (line + (prev if kind == 2 else 0)) % 256
        else:   # Sub, Average, Paeth depend on the pixel to the left: per byte
            for i in range(len(line)):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (line[i] + pred) % 256
        out[y] = cur
        prev = cur
    return width, height, out.reshape(height, width, bpp)[:, :, :3]


def band_colours(pixels):
    """The colours of the band, left to right: the rows whose middle is
    wholly made of long runs (5 % of the width) of solid colour, none
    white (the chart's rows have a white background or, on its lines, short
    runs where the curves cross)."""
    h, w, _ = pixels.shape
    best = []
    for y in range(h):
        row = [tuple(p) for p in pixels[y, w // 10:w * 8 // 10]]
        runs, start, solid = [], 0, True
        for x in range(1, len(row) + 1):
            if x == len(row) or row[x] != row[start]:
                solid &= x - start >= len(row) // 20 and row[start] != (255, 255, 255)
                runs.append(row[start])
                start = x
        colours = list(dict.fromkeys(runs))
        if solid and len(colours) > len(best):
            best = colours
    return best


def main():
    exe, model, data, work = sys.argv[1:5]
    manifest = os.path.join(data, "manifest.csv")
    if not os.path.exists(manifest):
        print("skip: no shared data at %s" % data)
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    # A classical clip, then a metal clip, from the same source and rate.
    with open(manifest) as f:
        rows = list(csv.DictReader(f))
    pick = {}
    for r in rows:
        if r["label"] in ("classical", "metal") and r.get("source") == "gtzan":
            pick.setdefault(r["label"], os.path.join(data, r["file"]))
    clips = [soundfile.read(pick[g], dtype="float32") for g in ("classical", "metal")]
    rate = clips[0][1]
    check(clips[1][1] == rate, "the two clips share a rate")
    mixed = os.path.join(work, "classical-then-metal.wav")
    soundfile.write(mixed, np.concatenate([clips[0][0], clips[1][0]]), rate)
    duration = sum(len(c[0]) for c in clips) / rate

    # --segments, JSON: at least two segments, different genres, tiling the file.
    r = run(exe, ["--json", "--segments", "--model", model, mixed])
    check(r.returncode == 0, "--json --segments exits 0", r.stderr)
    obj = json.loads(r.stdout)
    segs = obj.get("segments", [])
    genres = [s["genre"] for s in segs]
    check(len(segs) >= 2 and len(set(genres)) >= 2, "at least two segments of different genres",
          segs)
    check(genres[:1] == ["classical"] and genres[-1:] == ["metal"],
          "classical first, metal last", genres)
    check(segs and segs[0]["start"] == 0 and abs(segs[-1]["end"] - duration) < 1e-3
          and all(a["end"] == b["start"] for a, b in zip(segs, segs[1:])),
          "segments tile the file", segs)
    check(sum(s["windows"] for s in segs) == len(obj["windows"]), "every window in one segment")
    first = segs[0]
    mean = np.mean([w["probabilities"]["classical"] for w in obj["windows"][:first["windows"]]])
    check(abs(first["confidence"] - mean) < 1e-6, "a segment's confidence is its windows' mean",
          (first["confidence"], mean))
    check("segments" not in json.loads(run(exe, ["--json", "--model", model, mixed]).stdout),
          "no segments member without --segments")

    # --segments, table: a line per segment under the file's row, m:ss.
    r = run(exe, ["--segments", "--model", model, mixed])
    lines = r.stdout.splitlines()
    seg_lines = [x for x in lines if re.match(r"^  \d+:\d\d-\d+:\d\d +\S+ +\d+\.\d%$", x)]
    check(r.returncode == 0 and len(seg_lines) == len(segs), "a table line per segment", lines)
    check(seg_lines and seg_lines[0].split()[0].startswith("0:00-")
          and seg_lines[-1].split()[0].endswith("-%d:%02d" % divmod(round(duration), 60)),
          "the table's segments run from 0:00 to the end", seg_lines)

    # --plot: SVG and PNG.
    svg = os.path.join(work, "plot.svg")
    png = os.path.join(work, "plot.png")
    r = run(exe, ["--plot", svg, "--model", model, mixed])
    check(r.returncode == 0 and os.path.getsize(svg) > 0, "--plot .svg exits 0", r.stderr)
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    check(root.tag == ns + "svg", "the SVG parses as XML, root <svg>", root.tag)
    title, desc = root.findtext(ns + "title") or "", root.findtext(ns + "desc") or ""
    check(mixed in title and os.path.basename(model) in title, "title names the file and model",
          title)
    labels = obj["model_id"]["labels"]
    check(all(g in desc for g in labels + ["silence"]), "the legend names every genre", desc)
    check("classical" in desc.split("segments:")[1] and "metal" in desc.split("segments:")[1],
          "the SVG lists the segments", desc)
    r = run(exe, ["--plot", png, "--model", model, mixed])
    check(r.returncode == 0, "--plot .png exits 0", r.stderr)
    width, height, pixels = png_pixels(png)
    check((width, height) == (960, 440), "PNG IHDR 960x440", (width, height))
    colours = band_colours(pixels)
    check(len(colours) >= 2 and len(colours) == len(set(genres))
          and all(len(set(c)) > 1 for c in colours),
          "the band changes colour, one colour per genre (not grey)", (colours, genres))

    # A path that cannot be written: exit 1 and a message before any work
    # (the model is not even loaded: a missing one is not what it reports).
    start = time.monotonic()
    r = run(exe, ["--plot", os.path.join(work, "no-such-dir", "x.png"), "--model",
                  os.path.join(work, "no-such-model.gmdl"), mixed])
    elapsed = time.monotonic() - start
    check(r.returncode == 1 and "cannot write the plot" in r.stderr and "no-such-dir" in r.stderr
          and "cannot load model" not in r.stderr and r.stdout == "",
          "unwritable --plot: exit 1, message, no output", (r.returncode, r.stderr, r.stdout))
    check(elapsed < 5, "unwritable --plot fails at once (%.2f s)" % elapsed)
    for args, what in ((["--plot", os.path.join(work, "x.jpg"), mixed], "neither .svg nor .png"),
                       (["--plot", svg, mixed, mixed], "two files")):
        r = run(exe, args + ["--model", model])
        check(r.returncode == 2 and "--plot" in r.stderr, "--plot with %s: usage error" % what,
              (r.returncode, r.stderr))

    # Directories: recursive, audio by extension, sorted, hidden skipped; a
    # directory without audio is an error line (exit 1).
    tree = os.path.join(work, "tree")
    short = clips[0][0][:int(12 * rate)]
    for rel in ("b/2.wav", "b/1.FLAC", "a.ogg", ".hidden/x.wav", "b/.x.wav", "c/d/e.au"):
        path = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fmt = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "au": "AU"}[rel.rsplit(".", 1)[1].lower()]
        soundfile.write(path, short, rate, format=fmt)
    with open(os.path.join(tree, "b", "notes.txt"), "w") as f:
        f.write("not audio\n")
    empty = os.path.join(work, "empty")
    os.makedirs(os.path.join(empty, "sub"))
    with open(os.path.join(empty, "sub", "cover.jpg"), "w") as f:
        f.write("x")
    r = run(exe, ["--json", "--model", model, tree, empty])
    objs = [json.loads(x) for x in r.stdout.splitlines()]
    files = [os.path.relpath(o["file"], work) for o in objs]
    check(files == ["tree/a.ogg", "tree/b/1.FLAC", "tree/b/2.wav", "tree/c/d/e.au", "empty"],
          "directory operands: audio files in sorted order, hidden skipped", files)
    check(all(o["outcome"] == "genre" for o in objs[:4]), "the found files are classified")
    check(objs[-1:] and objs[-1]["outcome"] == "error" and "no audio files" in objs[-1]["error"]
          and r.returncode == 1 and empty + ": no audio files" in r.stderr,
          "a directory without audio: error line naming it, exit 1", (r.returncode, r.stderr))
    # An unreadable subdirectory: an error naming it, the rest classified.
    # (root reads every directory: run as nobody then.)
    locked = os.path.join(tree, "b", "locked")
    os.makedirs(locked)
    os.chmod(locked, 0)
    os.chmod(work, 0o755)
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    r = subprocess.run(prefix + [exe, "--json", "--model", model, tree], capture_output=True,
                       text=True, timeout=300)
    os.chmod(locked, 0o755)
    objs = [json.loads(x) for x in r.stdout.splitlines()]
    errs = [o for o in objs if o["outcome"] == "error"]
    check(r.returncode == 1 and len(objs) == 5 and len(errs) == 1 and errs[0]["file"] == locked
          and "cannot read the directory" in errs[0]["error"] and locked in r.stderr,
          "an unreadable subdirectory: an error naming it, exit 1, the others classified",
          (r.returncode, r.stderr, [o["file"] for o in objs]))

    return summary()


if __name__ == "__main__":
    sys.exit(main())
