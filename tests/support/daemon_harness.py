#!/usr/bin/python3
"""What the daemon tests share (tests/daemon, tests/mqtt): a running genred
(Daemon), its configuration text, test models and audio, waiting.

Environment: GENRED, GENRECTL, GENRE_CLASSIFY (executables), SOURCE_ROOT,
GENRE_DATA (the shared data folder)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

GENRED = os.environ.get("GENRED", "")
GENRECTL = os.environ.get("GENRECTL", "")
CLASSIFY = os.environ.get("GENRE_CLASSIFY", "")
SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DATA = os.environ.get("GENRE_DATA", os.path.join(SOURCE_ROOT, "..", "shared", "data", "genres"))

from testutil import wait_for, write_wav  # noqa: E402,F401  (also the harness's users')


NO_DATA = "shared data missing"


def need_data():
    """Skips the test where the shared data is absent (a tarball, a
    distribution build); exit_status() then makes the group's status 77."""
    manifest = os.path.join(DATA, "manifest.csv")
    if not os.path.exists(manifest):
        raise unittest.SkipTest("%s: %s (meson option shared_dir)" % (NO_DATA, manifest))


def exit_status(result):
    """A unittest result as the test's exit status: 1 on any failure, else
    77 (skipped) if a test could not run for want of the shared data, else 0."""
    if not result.wasSuccessful():
        return 1
    if any(reason.startswith(NO_DATA) for _, reason in result.skipped):
        return 77
    return 0


def clip_path(genre="jazz"):
    """One real clip of the shared data set."""
    need_data()
    folder = os.path.join(DATA, "audio", "gtzan", genre)
    return os.path.join(folder, sorted(os.listdir(folder))[0])


def excerpt_wav(path, seconds, rate_channels=None, genre="jazz", offset=5.0):
    """A WAV excerpt of a real clip (stereo, so downmixing is exercised)."""
    import soundfile
    data, rate = soundfile.read(clip_path(genre), dtype="float32", always_2d=True)
    start = int(offset * rate)
    mono = data[start:start + int(seconds * rate), 0]
    write_wav(path, np.stack([mono, mono * 0.5], axis=1), rate)
    return path


def test_model(directory, seed=1, name="rand.gmdl"):
    """The small shipped model (the CNN: cheap enough for sanitizers and
    valgrind) if it exists, else a small random model with the project's
    front-end (16 kHz, 96 mels, 624-frame windows)."""
    shipped = os.path.join(SOURCE_ROOT, "models", "genre-small.gmdl")
    if seed == 1 and os.path.exists(shipped):
        return shipped
    return random_model(os.path.join(directory, name), seed)


def random_model(path, seed, overflow=False, n_mels=96):
    """overflow: every weight 3e38 (finite, but the activations overflow
    and the softmax gives NaN).  n_mels: another mel band count (256 gives
    bands narrower than an FFT bin, which the front-end refuses, and so the
    loader, by the front-end's own check)."""
    from train import genre_model_file as gmf
    rng = np.random.default_rng(seed)

    def f32(*shape, scale=1.0):
        if overflow:
            return np.full(shape, 3e38, np.float32)
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    frontend = dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=n_mels,
                    fmin=0.0, fmax=8000.0, mel_scale="slaney", log_offset=1e-3,
                    window_frames=624, norm_mean=np.full(n_mels, -4.0, np.float32),
                    norm_std=np.full(n_mels, 3.0, np.float32))
    labels = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
              "reggae", "rock"]
    layers = [dict(type="conv2d", weight=f32(4, 1, 3, 3, scale=0.5), bias=f32(4, scale=0.1),
                   pad=(1, 1)),
              dict(type="relu"), dict(type="maxpool2d", kernel=(4, 4)),
              dict(type="conv2d", weight=f32(8, 4, 3, 3, scale=0.3), bias=f32(8, scale=0.1),
                   pad=(1, 1)),
              dict(type="relu"), dict(type="global_meanmax"),
              dict(type="dense", weight=f32(10, 16, scale=0.3), bias=f32(10, scale=0.1)),
              dict(type="softmax")]
    gmf.write_model(path, frontend, labels, layers, {"purpose": "genred test, random weights"})
    return path


def slow_model(path, like, layers=24, width=64):
    """A graph model that is slow on purpose (24 convolutions of 64 x 64
    channels, 9 x 9: about 0.5 G multiply-adds a frame, so a whole window
    costs many seconds), with the front-end of the model file `like`, so a
    swap between the two keeps the window.  Its weights are random."""
    from train import genre_model_file as gmf
    rng = np.random.default_rng(5)

    def f32(*shape, scale=0.1):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    nodes = [dict(name="c0", type="conv2d", inputs=["input"], weight=f32(width, 1, 3, 3),
                  bias=f32(width), pad_t=1, pad_f=1),
             dict(name="r0", type="relu", inputs=["c0"])]
    for i in range(1, layers + 1):
        nodes += [dict(name="c%d" % i, type="conv2d", inputs=["r%d" % (i - 1)],
                       weight=f32(width, width, 9, 9, scale=0.02), bias=f32(width), pad_t=4,
                       pad_f=4),
                  dict(name="r%d" % i, type="relu", inputs=["c%d" % i])]
    nodes += [dict(name="fmax", type="freq_max", inputs=["r%d" % layers]),
              dict(name="pool", type="time_maxmean", inputs=["fmax"]),
              dict(name="dense", type="dense", inputs=["pool"], weight=f32(10, 2 * width),
                   bias=f32(10)),
              dict(name="out", type="softmax", inputs=["dense"])]
    ref = gmf.read_model(like)
    gmf.write_model(path, ref["frontend"], ref["labels"], None, {"purpose": "genred test, slow"},
                    nodes=nodes)
    return path


def classify(model, audio, hop=None):
    """genre-classify --json on one file: its JSON object."""
    cmd = [CLASSIFY, "--json", "--model", model]
    if hop is not None:
        cmd += ["--hop", str(hop)]
    out = subprocess.run(cmd + [audio], check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])


class Daemon:
    """A running genred.  Start it with a config text; it is stopped (and
    its exit checked) by stop() or, at worst, killed by close()."""

    def __init__(self, directory, config, args=(), env=None, expect_ready=True, nice=0,
                 pass_fds=(), wrap=None):
        self.dir = directory
        self.conf = os.path.join(directory, "genred.conf")
        with open(self.conf, "w") as f:
            f.write(config)
        self.sock = os.path.join(directory, "genred.sock")
        self.logpath = os.path.join(directory, "genred-%d.log" % time.monotonic_ns())
        self.log = open(self.logpath, "w")
        cmd = [GENRED, "-c", self.conf, "--socket", self.sock] + list(args)
        if wrap:
            cmd = wrap(cmd)
        full_env = dict(os.environ)
        for key, value in (env or {}).items():     # None: unset
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=full_env, pass_fds=pass_fds,
                                     preexec_fn=(lambda: os.nice(nice)) if nice else None)
        if expect_ready and not wait_for(self._answers, 15):
            self.close()
            raise AssertionError("genred did not come up:\n" + self.output())

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("genred exited (%s):\n%s" % (self.proc.returncode,
                                                              self.output()))
        try:
            return self.request("version")["type"] == "version"
        except OSError:
            return False

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def request(self, command, timeout=5.0):
        """Send one command; return the first reply object after the greeting."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.sock)
            s.sendall(command.encode() + b"\n")
            buf = b""
            objects = []
            while len(objects) < 2:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    objects.append(json.loads(line))
            if len(objects) < 2 or objects[0]["type"] != "hello":
                raise AssertionError("bad exchange for %r: %r" % (command, objects))
            return objects[1]

    def status(self):
        return self.request("status")

    def stats(self):
        return self.request("stats")

    def watch(self, seconds):
        """Every object streamed during `seconds` of watching."""
        objects = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            s.connect(self.sock)
            s.sendall(b"watch\n")
            buf = b""
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    obj = json.loads(line)
                    obj["_received"] = time.monotonic()
                    objects.append(obj)
        return objects

    def genrectl(self, *args):
        return subprocess.run([GENRECTL, "--socket", self.sock] + list(args),
                              capture_output=True, text=True, timeout=10)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, test, within=1.0):
        """SIGTERM: must exit 0 within `within` seconds and remove its socket."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=max(5, 3 * within))
        except subprocess.TimeoutExpired:
            self.close()
            test.fail("genred did not exit within %.0f s of SIGTERM" % max(5, 3 * within))
        took = time.monotonic() - start
        test.assertEqual(rc, 0, self.output())
        test.assertLess(took, within, "SIGTERM to exit took %.2f s" % took)
        test.assertFalse(os.path.exists(self.sock), "socket left behind")
        self.log.close()
        return took

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.environ.get("GENRED_TEST_VERBOSE"):
            print("---- genred log ----\n" + self.output(), file=sys.stderr)
        self.log.close()


def base_config(model, source, interval=0.5, smoothing=3, extra=""):
    return ("[audio]\n%s\n[model]\npath = %s\n[inference]\ninterval = %s\nsmoothing = %d\n"
            "[socket]\ngroup =\n%s" % (source, model, interval, smoothing, extra))


def sums_to_one(probabilities):
    return abs(sum(probabilities.values()) - 1.0) < 1e-4


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="genred-daemon-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, config, **kw):
        d = Daemon(self.dir, config, **kw)
        self.daemons.append(d)
        return d
