"""genre-classify end to end on generated audio (WAV 44.1 kHz stereo, FLAC
48 kHz, Ogg Vorbis 22.05 kHz, AU 16 kHz, made with sox) and a small random
model written with train/genre_model_file.py.
Usage: test_genre_classify.py SOURCE_ROOT GENRE_CLASSIFY_EXE TMPDIR"""
import json
import math
import os
import subprocess
import sys

import numpy as np

from train import genre_model_file as gmf

source_root, exe, tmpdir = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import checklist  # noqa: E402
from checklist import check, summary  # noqa: E402

checklist.verbose = False  # thousands of checks: print failures only

RATE, N_FFT, HOP, N_MELS, WF = 16000, 512, 256, 40, 124       # a 2.0 s window
WINDOW_SPAN = ((WF - 1) * HOP + N_FFT) / RATE
LABELS = ["blues", "classical", "jazz", "metal", "rock"]


def run(args):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=120)


os.makedirs(tmpdir, exist_ok=True)
rng = np.random.default_rng(5)
f32 = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
model = os.path.join(tmpdir, "classify.gmdl")
gmf.write_model(model, dict(sample_rate=RATE, n_fft=N_FFT, hop=HOP, window="hann", n_mels=N_MELS,
                            fmin=0.0, fmax=8000.0, mel_scale="slaney", log_offset=1e-3,
                            window_frames=WF, norm_mean=np.full(N_MELS, -6, np.float32),
                            norm_std=np.full(N_MELS, 3, np.float32)),
                LABELS,
                [dict(type="conv2d", weight=f32(4, 1, 3, 3), bias=f32(4), pad=(1, 1)),
                 dict(type="relu"), dict(type="maxpool2d", kernel=(2, 2)),
                 dict(type="conv2d", weight=f32(6, 4, 3, 3), bias=f32(6), pad=(1, 1)),
                 dict(type="relu"), dict(type="global_meanmax"),
                 dict(type="dense", weight=f32(5, 12), bias=f32(5)), dict(type="softmax")],
                {"purpose": "classify test"})

# name, sox rate, channels, seconds, signal
AUDIO = [("tone.wav", 44100, 2, 6.5, ["sine", "220", "sine", "330"]),
         ("noise.flac", 48000, 1, 4.3, ["pinknoise"]),
         ("sweep.ogg", 22050, 1, 5.5, ["sine", "100-4000"]),
         ("square.au", 16000, 1, 3.3, ["square", "110"]),
         ("short.wav", 44100, 1, 1.2, ["sine", "440"])]
paths = {}
for name, rate, channels, seconds, synth in AUDIO:
    path = os.path.join(tmpdir, name)
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), path, "synth", str(seconds)]
                   + synth + ["vol", "0.5"], check=True)
    paths[name] = path
bad = os.path.join(tmpdir, "not-audio.wav")
with open(bad, "w") as f:
    f.write("this is not a WAV file\n")
missing = os.path.join(tmpdir, "missing.flac")


def expected_windows(seconds, hop_frames):
    """Windows the front-end framing gives for a clip (doc/frontend.md:
    frame t covers samples [t*hop, t*hop + n_fft))."""
    frames = (int(round(seconds * RATE)) - N_FFT) // HOP + 1
    return (frames - WF) // hop_frames + 1 if frames >= WF else 0


def check_clip(obj, seconds, hop_frames, tag):
    check(set(obj) >= {"file", "outcome", "genre", "confidence", "probabilities", "duration",
                       "level_dbfs", "padded", "windows"}, f"{tag}: members {sorted(obj)}")
    check(obj["outcome"] == "genre", f"{tag}: outcome {obj['outcome']}")
    probs = obj["probabilities"]
    check(list(probs) == LABELS, f"{tag}: probability keys {list(probs)}")
    check(abs(sum(probs.values()) - 1) <= 1e-4, f"{tag}: probabilities sum to {sum(probs.values())}")
    best = max(probs, key=probs.get)
    check(obj["genre"] == best and obj["confidence"] == probs[best], f"{tag}: genre/confidence")
    check(abs(obj["duration"] - seconds) <= 1e-3, f"{tag}: duration {obj['duration']} vs {seconds}")
    windows = obj["windows"]
    n = expected_windows(seconds, hop_frames)
    # The count must not hinge on a sample or two of resampler behaviour.
    robust = expected_windows(seconds - 0.02, hop_frames) == expected_windows(seconds + 0.02, hop_frames)
    check(robust, f"{tag}: test duration {seconds} s too close to a window boundary")
    if n == 0:
        check(obj["padded"] is True and len(windows) == 1, f"{tag}: short clip not padded")
        check(windows and windows[0]["start"] == 0 and abs(windows[0]["end"] - seconds) < 1e-3,
              f"{tag}: padded window span {windows[:1]}")
    else:
        check(obj["padded"] is False, f"{tag}: padded is {obj['padded']}")
        check(len(windows) == n, f"{tag}: {len(windows)} windows, expected {n} "
                                 f"({seconds} s, hop {hop_frames} frames)")
        for i, w in enumerate(windows):
            start = i * hop_frames * HOP / RATE
            check(abs(w["start"] - start) < 1e-4 and abs(w["end"] - start - WINDOW_SPAN) < 1e-4,
                  f"{tag}: window {i} spans {w['start']}..{w['end']}, expected {start}..")
    for i, w in enumerate(windows):
        wp = w["probabilities"]
        check(abs(sum(wp.values()) - 1) <= 1e-4, f"{tag}: window {i} sums to {sum(wp.values())}")
        check(w["genre"] == (None if w["silent"] else max(wp, key=wp.get)), f"{tag}: window {i} genre")
    loud = [w for w in windows if not w["silent"]]
    if loud:
        mean = {k: np.mean([w["probabilities"][k] for w in loud]) for k in LABELS}
        check(all(abs(mean[k] - probs[k]) <= 2e-6 for k in LABELS),
              f"{tag}: clip != mean of the windows with sound")


# 1. JSON, hop 0.8 s = exactly 50 frames; bad files interleaved.
order = ["tone.wav", bad, "noise.flac", "sweep.ogg", missing, "square.au", "short.wav"]
args = [paths.get(x, x) for x in order]
r = run(["--json", "--model", model, "--hop", "0.8"] + args)
check(r.returncode == 1, f"exit status {r.returncode} with unreadable files, expected 1")
lines = r.stdout.splitlines()
check(len(lines) == len(order), f"{len(lines)} JSON lines for {len(order)} files")
seconds_of = {name: s for name, _, _, s, _ in AUDIO}
for name, path, line in zip(order, args, lines):
    try:
        obj = json.loads(line)
    except ValueError as e:
        check(False, f"{name}: output is not JSON ({e}): {line[:80]}")
        continue
    check(obj.get("file") == path, f"{name}: file member {obj.get('file')}")
    if name in (bad, missing):
        check("error" in obj and "genre" not in obj and obj.get("outcome") == "error",
              f"{name}: expected an error object: {line[:120]}")
        check(path in r.stderr, f"{name}: no error line on stderr naming it")
    else:
        check_clip(obj, seconds_of[name], 50, name)
check(len([x for x in r.stderr.splitlines() if x.strip()]) == 2,
      f"stderr should hold two error lines: {r.stderr!r}")
json_hop08 = r.stdout

# 2. Default hop (5 s = 312.5 -> 312 frames) on a 12.5 s clip: 3 windows.
long_wav = os.path.join(tmpdir, "long.wav")
subprocess.run(["sox", "-n", "-r", "32000", "-c", "1", long_wav, "synth", "12.5", "brownnoise",
                "vol", "0.3"], check=True)
r = run(["--json", "--model", model, long_wav])
check(r.returncode == 0, f"long clip exit {r.returncode}: {r.stderr}")
if r.returncode == 0:
    check_clip(json.loads(r.stdout), 12.5, 312, "long.wav default hop")

# 3. Parallel jobs give the same lines in the same order.
r = run(["--json", "--model", model, "--hop", "0.8", "--jobs", "3"] + args)
if r.stdout != json_hop08:
    diff = [(a[:200], b[:200]) for a, b in zip(json_hop08.splitlines(), r.stdout.splitlines())
            if a != b][:1]
else:
    diff = []
check(r.returncode == 1 and r.stdout == json_hop08,
      f"--jobs 3 output differs from --jobs 1: {diff}")

# 3b. Unreadable files opened alongside readable ones keep their own reason
# (libsndfile holds the reason of a failed open in one process-wide slot).
many = []
for i in range(12):
    junk = os.path.join(tmpdir, f"junk{i}.wav")
    with open(junk, "wb") as f:
        f.write(b"RIFF not really a wave file %d" % i)
    many += [junk, paths["short.wav"]]
r1 = run(["--json", "--model", model, "--hop", "5"] + many)
for attempt in range(3):
    rn = run(["--json", "--model", model, "--hop", "5", "--jobs", "4"] + many)
    errors = [json.loads(x).get("error", "") for x in rn.stdout.splitlines()]
    check(rn.stdout == r1.stdout and all("No Error" not in e for e in errors),
          f"--jobs 4 on unreadable and readable files, round {attempt}: "
          f"{[e for e in errors if 'No Error' in e][:1] or 'output differs from --jobs 1'}")

# 4. The table.
r = run(["--model", model, paths["tone.wav"], paths["short.wav"], missing])
rows = r.stdout.splitlines()
check(r.returncode == 1, f"table exit {r.returncode}")
check(len(rows) == 3 and rows[0].startswith("FILE"), f"table rows: {rows}")
check(any(paths["tone.wav"] in x and "%" in x for x in rows), "table lacks tone.wav")
check(any(paths["short.wav"] in x and "padded" in x for x in rows), "table lacks the padded note")
check(missing in r.stderr, "table mode: no error for the missing file")

# 5. Options and model errors.
check(run(["--help"]).returncode == 0 and "usage" in run(["--help"]).stdout, "--help")
for flag in ("-V", "--version"):
    v = run([flag])
    check(v.returncode == 0 and v.stdout.startswith("genre-classify "), f"{flag}: {v.stdout!r}")
# Usage errors exit 2 (a model or file that cannot be used: 1).
r = run(["--bogus", paths["tone.wav"]])
check(r.returncode == 2 and "usage" in r.stderr, f"unknown option: exit {r.returncode}")
for bad_args in (["--hop", "0", paths["tone.wav"]], ["--hop", "x", paths["tone.wav"]],
                 ["--jobs", "0", paths["tone.wav"]], ["--model", model]):
    r = run(bad_args if "--model" in bad_args else ["--model", model] + bad_args)
    check(r.returncode == 2 and r.stderr, f"{bad_args}: exit {r.returncode}")
r = run(["--model", bad, paths["tone.wav"]])
check(r.returncode == 1 and "not a genre model file" in r.stderr, f"bad model: exit {r.returncode}, {r.stderr!r}")
# Front-end settings the front-end refuses (256 mel bands over a 512-point
# FFT: bands narrower than a bin) are a model error (exit 1, naming the
# model; the loader refuses them by the front-end's own check), not an error
# blamed on each file.
narrow = os.path.join(tmpdir, "narrow.gmdl")
gmf.write_model(narrow, dict(sample_rate=RATE, n_fft=N_FFT, hop=HOP, window="hann", n_mels=256,
                             fmin=0.0, fmax=8000.0, mel_scale="slaney", log_offset=1e-3,
                             window_frames=WF, norm_mean=np.full(256, -6, np.float32),
                             norm_std=np.full(256, 3, np.float32)),
                LABELS,
                [dict(type="conv2d", weight=f32(4, 1, 3, 3), bias=f32(4), pad=(1, 1)),
                 dict(type="relu"), dict(type="global_meanmax"),
                 dict(type="dense", weight=f32(5, 8), bias=f32(5)), dict(type="softmax")],
                {"purpose": "classify test: front-end refuses"})
r = run(["--model", narrow, paths["tone.wav"], paths["noise.flac"]])
check(r.returncode == 1 and f"{narrow}: front-end: mel band" in r.stderr
      and r.stderr.count("\n") == 1, f"narrow mel bands: exit {r.returncode}, {r.stderr!r}")

# 6. Non-finite audio or model output is no genre (issue 14, defects 1 and 2):
# the file fails (error object, exit 1), the others are still classified.
import soundfile  # noqa: E402
tone = np.sin(np.arange(int(3.0 * RATE)) * 2 * np.pi * 440 / RATE).astype(np.float32) * 0.5
nonfinite = {}
for tag, value in (("nan", np.nan), ("inf", np.inf)):
    everywhere = os.path.join(tmpdir, f"{tag}.wav")
    soundfile.write(everywhere, np.full(int(3.0 * RATE), value, np.float32), RATE, subtype="FLOAT")
    one = tone.copy()
    one[int(1.5 * RATE)] = value
    single = os.path.join(tmpdir, f"one-{tag}.wav")
    soundfile.write(single, one, RATE, subtype="FLOAT")
    nonfinite[everywhere] = 0.0
    nonfinite[single] = 1.5
files = list(nonfinite) + [paths["tone.wav"]]
r = run(["--json", "--model", model] + files)
check(r.returncode == 3, f"non-finite audio: exit {r.returncode}, expected 3 (a file without genre)")
lines = [json.loads(x) for x in r.stdout.splitlines()]
check(len(lines) == len(files), f"non-finite audio: {len(lines)} lines for {len(files)} files")
for obj, path in zip(lines, files):
    if path in nonfinite:
        check(obj.get("outcome") == "invalid-audio" and obj.get("genre") is None
              and "non-finite sample" in obj.get("reason", "")
              and f"at {nonfinite[path]:.3f} s" in obj["reason"], f"{path}: {obj}")
    else:
        check(obj.get("genre") in LABELS, f"finite file after the bad ones: {obj}")

# 7. Outcomes without a genre: digital silence, a file far shorter than a
# window, and music with silence around it (silent windows left out).
silence = os.path.join(tmpdir, "silence.wav")
soundfile.write(silence, np.zeros(int(6.0 * RATE), np.float32), RATE)
tiny = os.path.join(tmpdir, "tiny.wav")
soundfile.write(tiny, tone[:int(0.1 * RATE)], RATE)
gapped = os.path.join(tmpdir, "gapped.wav")
soundfile.write(gapped, np.concatenate([np.zeros(int(3.0 * RATE), np.float32), tone,
                                        np.zeros(int(3.0 * RATE), np.float32)]), RATE)
r = run(["--json", "--model", model, "--hop", "0.8", silence, tiny, gapped])
check(r.returncode == 3, f"silence and too-short: exit {r.returncode}, expected 3")
objs = [json.loads(x) for x in r.stdout.splitlines()]
check([o.get("outcome") for o in objs] == ["silence", "too-short", "genre"],
      f"outcomes {[o.get('outcome') for o in objs]}")
if len(objs) == 3:
    check(objs[0]["genre"] is None and objs[0]["level_dbfs"] == -120.0 and "below -60.0 dBFS"
          in objs[0]["reason"] and all(w["silent"] for w in objs[0]["windows"]), f"silence: {objs[0]}")
    check(objs[1]["genre"] is None and "0.100 s" in objs[1]["reason"], f"too-short: {objs[1]}")
    silent = [w["silent"] for w in objs[2]["windows"]]
    check(any(silent) and not all(silent), f"gapped: windows silent {silent}")
    check_clip(objs[2], 9.0, 50, "gapped")
r = run(["--model", model, "--silence-dbfs", "-3", paths["tone.wav"]])
check(r.returncode == 3 and "(silence)" in r.stdout, f"--silence-dbfs -3: {r.returncode} {r.stdout!r}")
r = run(["--model", model, "--silence-dbfs", "5", paths["tone.wav"]])
check(r.returncode == 2, f"--silence-dbfs 5: exit {r.returncode}")
overflow = os.path.join(tmpdir, "overflow.gmdl")
big = np.full((4, 1, 3, 3), 3e38, np.float32)
gmf.write_model(overflow, dict(sample_rate=RATE, n_fft=N_FFT, hop=HOP, window="hann", n_mels=N_MELS,
                               fmin=0.0, fmax=8000.0, mel_scale="slaney", log_offset=1e-3,
                               window_frames=WF, norm_mean=np.full(N_MELS, -6, np.float32),
                               norm_std=np.full(N_MELS, 3, np.float32)),
                LABELS,
                [dict(type="conv2d", weight=big, bias=np.zeros(4, np.float32), pad=(1, 1)),
                 dict(type="relu"), dict(type="global_meanmax"),
                 dict(type="dense", weight=np.full((5, 8), 3e38, np.float32),
                      bias=np.zeros(5, np.float32)), dict(type="softmax")],
                {"purpose": "classify test: activations overflow"})
for args in (["--json"], []):
    r = run(args + ["--model", overflow, paths["tone.wav"]])
    check(r.returncode == 1 and "model's output is not finite" in r.stderr,
          f"overflowing model {args}: exit {r.returncode}, {r.stderr!r}")
    check("null" not in r.stdout and "%" not in r.stdout.split("\n", 1)[-1],
          f"overflowing model {args}: a result was printed: {r.stdout!r}")

sys.exit(summary())
