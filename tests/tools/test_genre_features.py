#!/usr/bin/python3
"""genre-features end to end (suite `frontend`): a manifest with quoted
fields (commas, quotes), relative and absolute paths, extra columns, a
missing file, a corrupt file and a short row.  Asserts the exit status (1:
some files failed; 2: usage errors), errors.csv names exactly the bad rows, index.csv keeps
every manifest column (same values) plus npy/frames/seconds, each .npy is a
valid float32 [frames, n_mels] array equal bit-for-bit to the frames
dump_frontend gets through the same pipeline, spec.json states the spec,
spec flags are honoured, --model takes the spec from a model file, and bad
flags are refused.

usage: test_genre_features.py GENRE_FEATURES DUMP_FRONTEND WORK_DIR [MODEL.gmdl]
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402
from testutil import write_wav  # noqa: E402







def main():
    tool, dump, work = sys.argv[1:4]
    model = sys.argv[4] if len(sys.argv) > 4 else None
    shutil.rmtree(work, ignore_errors=True)
    audio = os.path.join(work, "data", "audio")
    os.makedirs(audio)
    rng = np.random.default_rng(7)
    t44 = np.arange(int(2.0 * 44100)) / 44100.0
    write_wav(os.path.join(audio, "a.wav"),
              np.stack([0.3 * np.sin(2 * np.pi * 440 * t44), 0.1 * rng.standard_normal(len(t44))], 1),
              44100)
    t16 = np.arange(int(1.5 * 16000)) / 16000.0
    write_wav(os.path.join(audio, "b.wav"), 0.4 * np.sin(2 * np.pi * 2000 * t16), 16000)
    write_wav(os.path.join(audio, "short.wav"), np.zeros(100), 16000)
    with open(os.path.join(audio, "corrupt.wav"), "wb") as f:
        f.write(bytes(range(256)) * 10)
    # A float WAV with a NaN in it: refused, not NaN features (issue 14).
    import soundfile
    nan = (0.3 * np.sin(2 * np.pi * 440 * t16)).astype(np.float32)
    nan[8000] = np.nan
    soundfile.write(os.path.join(audio, "nan.wav"), nan, 16000, subtype="FLOAT")
    abs_b = os.path.abspath(os.path.join(audio, "b.wav"))

    manifest = os.path.join(work, "data", "manifest.csv")
    rows = [
        ["file", "label", "split", "artist", "note"],
        ["audio/a.wav", "jazz", "train", "Earth, Wind & Fire", 'say "hi"'],
        [abs_b, "rock", "valid", "Plain", ""],
        ["audio/missing.wav", "pop", "train", "Nobody", "x"],
        ["audio/corrupt.wav", "pop", "train", "Broken, Inc.", "y"],
        ["audio/short.wav", "pop", "train", "Short", "z"],
        ["audio/nan.wav", "pop", "train", "NaN", "n"],
    ]
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerows(rows)
        f.write("audio/a.wav,blues\r\n")  # short row: 2 fields

    out = os.path.join(work, "out")
    run = subprocess.run([tool, "--jobs", "2", manifest, out], capture_output=True, text=True)
    print(run.stderr.strip())
    check(run.returncode == 1, f"exit status 1 when some files fail (got {run.returncode})")
    for name in ("missing.wav", "corrupt.wav", "short.wav", "nan.wav"):
        check(name in run.stderr, f"stderr names {name}")

    with open(os.path.join(out, "errors.csv"), newline="") as f:
        errs = list(csv.DictReader(f))
    check(sorted(e["file"] for e in errs) == sorted(["audio/missing.wav", "audio/corrupt.wav",
                                                      "audio/short.wav", "audio/nan.wav",
                                                      "audio/a.wav"]),
          f"errors.csv lists the 5 bad rows: {[e['file'] for e in errs]}")
    check(any("non-finite sample" in e["error"] and "0.500 s" in e["error"] for e in errs),
          f"the NaN file's reason: {[e['error'] for e in errs]}")
    check(all(e["error"] for e in errs), "every error has a reason")
    check(any("fields" in e["error"] for e in errs), "the short row's reason mentions fields")

    with open(os.path.join(out, "index.csv"), newline="") as f:
        index = list(csv.DictReader(f))
    check(len(index) == 2, f"index.csv has the 2 good rows ({len(index)})")
    check(list(index[0].keys()) == rows[0] + ["npy", "frames", "seconds"] if index else False,
          f"index.csv columns {list(index[0].keys()) if index else None}")
    if len(index) == 2:
        check(index[0]["artist"] == "Earth, Wind & Fire" and index[0]["note"] == 'say "hi"',
              "quoted fields survive the round trip")
        check(index[1]["file"] == abs_b and index[1]["note"] == "", "absolute path and empty field kept")
        check(abs(float(index[0]["seconds"]) - 2.0) < 1e-3 and abs(float(index[1]["seconds"]) - 1.5) < 1e-3,
              f"seconds {index[0]['seconds']}, {index[1]['seconds']}")
        for r, src in zip(index, [os.path.join(audio, "a.wav"), abs_b]):
            feat = np.load(os.path.join(out, r["npy"]))
            check(feat.dtype == np.float32 and feat.ndim == 2 and feat.shape == (int(r["frames"]), 96)
                  and feat.flags["C_CONTIGUOUS"], f"{r['npy']}: {feat.dtype} {feat.shape}, frames {r['frames']}")
            prefix = os.path.join(work, os.path.basename(src))
            subprocess.run([dump, src, prefix], check=True, capture_output=True)
            ref = np.load(prefix + ".frames.npy")
            check(ref.shape == feat.shape and np.array_equal(ref, feat),
                  f"{r['npy']} equals dump_frontend's pipeline frames bit for bit")
        # 1.5 s at 16 kHz = 24000 samples -> (24000-512)//256+1 = 92 frames
        check(index[1]["frames"] == "92", f"1.5 s at 16 kHz gives 92 frames ({index[1]['frames']})")

    with open(os.path.join(out, "spec.json")) as f:
        spec = json.load(f)
    want = dict(sample_rate=16000, n_fft=512, hop=256, n_mels=96, fmin=0, fmax=8000, mel_scale="slaney",
                log_offset=0.001, window_frames=624, window="hann_periodic", normalisation=None)
    check(all(spec.get(k) == v for k, v in want.items()), f"spec.json {spec}")

    # spec flags are honoured and written
    out2 = os.path.join(work, "out2")
    good = os.path.join(work, "data", "good.csv")
    with open(good, "w") as f:
        f.write("label,file\nrock,audio/b.wav\n")
    run = subprocess.run([tool, "--mels", "40", "--n-fft", "1024", "--hop", "160", "--mel-scale", "htk",
                          "--fmin", "20", "--log-offset", "1e-6", good, out2], capture_output=True, text=True)
    check(run.returncode == 0, f"spec flags accepted ({run.returncode}: {run.stderr.strip()})")
    if run.returncode == 0:
        with open(os.path.join(out2, "spec.json")) as f:
            spec2 = json.load(f)
        check(spec2["n_mels"] == 40 and spec2["n_fft"] == 1024 and spec2["hop"] == 160 and
              spec2["mel_scale"] == "htk" and spec2["fmin"] == 20 and spec2["log_offset"] == 1e-6,
              f"spec.json follows the flags: {spec2}")
        feat = np.load(os.path.join(out2, "feat", "00000.npy"))
        check(feat.shape == ((24000 - 1024) // 160 + 1, 40), f"flagged features shape {feat.shape}")

    if model:
        out3 = os.path.join(work, "out3")
        run = subprocess.run([tool, "--model", model, good, out3], capture_output=True, text=True)
        check(run.returncode == 0, f"--model accepted ({run.returncode}: {run.stderr.strip()})")
        if run.returncode == 0:
            with open(os.path.join(out3, "spec.json")) as f:
                spec3 = json.load(f)
            feat = np.load(os.path.join(out3, "feat", "00000.npy"))
            check(model in spec3["spec_source"] and spec3["normalisation"] is None
                  and feat.shape[1] == spec3["n_mels"] and spec3 != spec,
                  f"spec from the model, raw features {feat.shape}: {spec3}")
        run = subprocess.run([tool, "--model", model, "--mels", "10", good, os.path.join(work, "bad")],
                             capture_output=True, text=True)
        check(run.returncode == 2 and "either" in run.stderr, f"--model with spec flags refused: {run.stderr.strip()}")
        run = subprocess.run([tool, "--model", manifest, good, os.path.join(work, "bad")],
                             capture_output=True, text=True)
        check(run.returncode == 1 and "manifest.csv" in run.stderr, f"non-model file refused: {run.stderr.strip()}")

    # Exit status 2 is a usage error (the command line), 1 a failure (a
    # model, manifest or output folder that cannot be used).
    for flag in ("-V", "--version"):
        run = subprocess.run([tool, flag], capture_output=True, text=True)
        check(run.returncode == 0 and run.stdout.startswith("genre-features ")
              and run.stdout.split()[1][0].isdigit(), f"{flag}: {run.returncode} {run.stdout!r}")
    for flag in ("-h", "--help"):
        run = subprocess.run([tool, flag], capture_output=True, text=True)
        check(run.returncode == 0 and run.stdout.startswith("usage: genre-features"), f"{flag}: {run.returncode}")
    for args, what in [([], "no arguments"), ([good], "no OUTDIR"), (["--bogus", good, "x"], "unknown option"),
                       (["--node", "x", good, os.path.join(work, "bad")], "--node without --model")]:
        run = subprocess.run([tool] + args, capture_output=True, text=True)
        check(run.returncode == 2 and "genre-features" in run.stderr, f"{what}: usage error, exit {run.returncode}")
    # refused: bad flags, no file column, missing manifest
    for args, what in [(["--mels", "300"], "too many mels"), (["--fmax", "9000"], "fmax above Nyquist"),
                       (["--hop", "x"], "non-numeric hop"), (["--jobs", "0"], "0 jobs"),
                       (["--mel-scale", "bark"], "unknown mel scale")]:
        run = subprocess.run([tool] + args + [good, os.path.join(work, "bad")], capture_output=True, text=True)
        check(run.returncode == 2 and run.stderr.strip() != "", f"{what} refused: {run.stderr.strip()}")
    nofile = os.path.join(work, "data", "nofile.csv")
    with open(nofile, "w") as f:
        f.write("path,label\na.wav,rock\n")
    run = subprocess.run([tool, nofile, os.path.join(work, "bad")], capture_output=True, text=True)
    check(run.returncode == 1 and "file" in run.stderr, f"no file column refused: {run.stderr.strip()}")
    run = subprocess.run([tool, os.path.join(work, "nope.csv"), os.path.join(work, "bad")],
                         capture_output=True, text=True)
    check(run.returncode == 1 and "nope.csv" in run.stderr, f"missing manifest refused: {run.stderr.strip()}")
    unterminated = os.path.join(work, "data", "unterminated.csv")
    with open(unterminated, "w") as f:
        f.write('file,label\n"audio/b.wav,rock\n')
    run = subprocess.run([tool, unterminated, os.path.join(work, "bad")], capture_output=True, text=True)
    check(run.returncode == 1 and "unterminated" in run.stderr, f"broken CSV refused: {run.stderr.strip()}")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
