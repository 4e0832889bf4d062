"""The daemon rows of bench/run: genred capturing live audio in real time.

The input is a private PulseAudio server (its own runtime directory, so it
touches no other session's audio) with a null sink; a player loops real
music clips into that sink and genred records its monitor over
PulseAudio's native protocol (source = pulse), paced by the sound server's
clock like a sound card.  For comparison, at interval 1 s, the same through
PortAudio's ALSA `pulse` device (source = device) and the file source on
the same music.  Measured from outside the daemon:

* CPU: utime+stime from /proc/PID/stat over the steady-state period (after
  the first window filled), as % of one core; peak RSS: VmHWM.
* Latency, end of window -> result line read by a watching client.  The
  result carries its window's end in stream seconds; stream time 0 is put
  on the wall clock with `stats` polled every 50 ms: at each poll,
  T0 <= wall - frames/sample_rate (frames the daemon has consumed), and the
  minimum over the run is the moment the daemon had the samples.  So the
  figure counts from when genred had the window's last sample (not when
  the sound server played it) to the client's read.
* Fan-out: 10, 100, 1000 watching clients on one daemon (interval 0.25 s):
  CPU; delivery over all clients, from the result's `time` (stamped when
  the daemon takes the window, so it includes the network's run) to the
  client's read; capture overruns and dropped clients from `stats`."""

import json
import os
import resource
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import numpy as np

REPLY_TIMEOUT_S = 30.0

class Client:
    """One protocol connection (blocking for requests, non-blocking for watch)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A daemon that stops answering fails the bench instead of hanging it.
        self.sock.settimeout(REPLY_TIMEOUT_S)
        self.sock.connect(path)
        self.buf = b""
        hello = self.read_obj()
        if hello.get("type") != "hello":
            raise RuntimeError(f"no greeting: {hello}")

    def read_obj(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("daemon closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, cmd, want):
        self.sock.sendall(cmd.encode() + b"\n")
        while True:
            obj = self.read_obj()
            if obj.get("type") == want:
                return obj

    def close(self):
        self.sock.close()


class Watchers:
    """n watching clients read by one thread; records recv - result time and
    recv - window end for every result line."""

    def __init__(self, path, n):
        self.clients = []
        for _ in range(n):
            c = Client(path)
            c.request("watch", "ok")
            c.sock.setblocking(False)
            self.clients.append(c)
        self.delivery, self.window_recv = [], []   # seconds; (window_end, recv wall)
        self.closed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        for c in self.clients:
            sel.register(c.sock, selectors.EVENT_READ, c)
        while not self.stop.is_set():
            events = sel.select(timeout=0.1)
            # One timestamp per wake-up: the moment the lines were readable,
            # not how long this Python loop takes to get through 1000 sockets.
            now = time.time()
            for key, _ in events:
                c = key.data
                try:
                    chunk = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(c.sock)
                    self.closed += 1
                    continue
                c.buf += chunk
                while b"\n" in c.buf:
                    line, c.buf = c.buf.split(b"\n", 1)
                    obj = json.loads(line)
                    if obj.get("type") == "result" and obj.get("state") == "ok":
                        self.delivery.append(now - obj["time"])
                        if c is self.clients[0]:
                            self.window_recv.append((obj["window"]["end"], now))
        sel.close()

    def finish(self):
        self.stop.set()
        self.thread.join()
        for c in self.clients:
            c.close()


class StreamClock:
    """Polls stats; T0 = min(wall - frames / rate) maps stream time to wall.
    poll() runs on the polling thread and on the caller's; the lock keeps
    the two from reading each other's replies off the one connection (which
    left one of them waiting for a reply that had already been consumed)."""

    def __init__(self, path):
        self.client = Client(path)
        self.lock = threading.Lock()
        self.t0 = float("inf")
        self.last = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def poll(self):
        with self.lock:
            before = time.time()
            s = self.client.request("stats", "stats")
            after = time.time()
            if s.get("frames") and s.get("sample_rate"):
                self.t0 = min(self.t0, (before + after) / 2 - s["frames"] / s["sample_rate"])
            self.last = s
        return s

    def _run(self):
        while not self.stop.is_set():
            self.poll()
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join()
        s = self.poll()
        self.client.close()
        return s


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    return 0


def pct(values, q):
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class Session:
    """A private PulseAudio server with a null sink and a looping player."""

    def __init__(self, tmp, music):
        self.dir = tmp
        self.env = dict(os.environ, HOME=tmp, XDG_RUNTIME_DIR=tmp, PULSE_RUNTIME_PATH=tmp,
                        PULSE_SERVER=f"unix:{tmp}/native", PULSE_SOURCE="bench.monitor")
        self.pulse = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             f"--log-target=file:{tmp}/pulse.log",
             "-L", f"module-native-protocol-unix socket={tmp}/native auth-anonymous=1",
             "-L", "module-null-sink sink_name=bench rate=48000 channels=2"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env=self.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError("PulseAudio did not start")
        self.playing = threading.Event()
        self.playing.set()
        self.player = None
        self.thread = threading.Thread(target=self._play, args=(music,), daemon=True)
        self.thread.start()

    def _play(self, music):
        while self.playing.is_set():
            self.player = subprocess.Popen(["paplay", "-d", "bench", music], env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.player.wait()

    def close(self):
        self.playing.clear()
        if self.player:
            self.player.terminate()
        self.pulse.terminate()
        self.pulse.wait()


def make_music(path, data, seconds=90):
    """A 48 kHz stereo WAV of validation clips (different genres) back to back."""
    import csv
    import soundfile
    picked, have = [], set()
    with open(os.path.join(data, "manifest.csv")) as f:
        for row in sorted(csv.DictReader(f), key=lambda r: r["file"]):
            if row["split"] == "valid" and row["label"] not in have:
                have.add(row["label"])
                picked.append(os.path.join(data, row["file"]))
    parts, total = [], 0
    for clip in picked:
        x, sr = soundfile.read(clip, dtype="float32", always_2d=True)
        if sr != 48000:
            continue
        parts.append(np.repeat(x[:, :1], 2, axis=1))
        total += len(x) / sr
        if total >= seconds:
            break
    soundfile.write(path, np.concatenate(parts), 48000, subtype="PCM_16")


# The ways genred can take the same audio in: native PulseAudio (the
# cheap live path), PortAudio through ALSA's pulse plugin, and the file
# source on the same music (no sound server involved).
AUDIO = {
    "pulse": "source = pulse",
    "portaudio": "source = device\ndevice = pulse",
}


def start_genred(build, model, tmp, env, interval, audio="pulse"):
    conf = os.path.join(tmp, f"genred-{interval}.conf")
    sock = os.path.join(tmp, "genred.sock")
    with open(conf, "w") as f:
        f.write(f"[audio]\n{AUDIO.get(audio, audio)}\n[model]\npath = {model}\n"
                f"[inference]\ninterval = {interval}\n"
                f"[socket]\npath = {sock}\ngroup =\nmax_clients = 1100\n[log]\nlevel = warning\n")
    log = open(os.path.join(tmp, f"genred-{interval}.log"), "w")
    p = subprocess.Popen([os.path.join(build, "src", "daemon", "genred"), "--foreground", "--config", conf],
                         env=env, stdout=log, stderr=log)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return p, sock


def wait_for_ok(sock, timeout=30):
    c = Client(sock)
    t_end = time.time() + timeout
    while time.time() < t_end:
        if c.request("status", "status").get("state") == "ok":
            c.close()
            return
        time.sleep(0.2)
    c.close()
    raise RuntimeError("genred never reached state ok")


def steady_run(pid, sock, seconds, n_watchers):
    """Measure for `seconds` with n watchers: CPU %, latencies, stats deltas."""
    clock = StreamClock(sock)
    first = clock.poll()
    watchers = Watchers(sock, n_watchers)
    cpu0, w0 = proc_cpu_s(pid), time.time()
    time.sleep(seconds)
    cpu1, w1 = proc_cpu_s(pid), time.time()
    watchers.finish()
    last = clock.finish()
    latency = [recv - (clock.t0 + end) for end, recv in watchers.window_recv]
    return {
        "cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0),
        "latency_ms": [1e3 * pct(latency, q) for q in (50, 99)] + [1e3 * max(latency, default=float("nan"))],
        "delivery_ms": [1e3 * pct(watchers.delivery, q) for q in (50, 99)] +
                       [1e3 * max(watchers.delivery, default=float("nan"))],
        "results": len(watchers.window_recv),
        "deliveries": len(watchers.delivery),
        "overruns": last["overruns"] - first["overruns"],
        "dropped": last["clients_dropped"] - first["clients_dropped"],
        "inference_ms": last.get("inference_ms_mean"),
        "hwm_mib": proc_hwm_kib(pid) / 1024,
        "closed": watchers.closed,
    }


def quiet_run(pid, sock, seconds):
    """CPU % and peak RSS over `seconds` with one watching client and
    nothing else asking: steady_run's stats polling (20 a second, for the
    latency clock) costs the daemon more than its audio path does."""
    watchers = Watchers(sock, 1)
    cpu0, w0 = proc_cpu_s(pid), time.time()
    time.sleep(seconds)
    cpu1, w1 = proc_cpu_s(pid), time.time()
    watchers.finish()
    return {"cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0), "hwm_mib": proc_hwm_kib(pid) / 1024,
            "results": len(watchers.window_recv)}


def bench_daemon(build, model, table, quick):
    for tool in ("pulseaudio", "paplay", "pactl"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/run: daemon rows need {tool} (PulseAudio)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    data = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                         "shared", "data", "genres"))
    main_s = 20 if quick else 60
    fan_s = 8 if quick else 20
    tmp = tempfile.mkdtemp(prefix="genred-bench-")
    music = os.path.join(build, "bench-music.wav")
    if not os.path.exists(music):
        make_music(music, data)
    session = Session(tmp, music)
    try:
        # Interval 1 s, each way in: native PulseAudio (the automatic
        # latency, one fragment per result, and 0.1 s, the default before
        # it), PortAudio over ALSA's pulse plugin, the file source;
        # alternating rounds.
        file_audio = f"source = file\nfile = {music}\nloop = yes"
        ways = [("native PulseAudio", "pulse"),
                ("native PulseAudio, latency 0.1", "source = pulse\nlatency = 0.1"),
                ("PortAudio, ALSA pulse plugin", "portaudio"), ("file source", file_audio)]
        rounds = {name: [] for name, _ in ways}
        for _ in range(3):
            for name, audio in ways:
                p, sock = start_genred(build, model, tmp, session.env, 1.0, audio)
                try:
                    wait_for_ok(sock)
                    rounds[name].append(quiet_run(p.pid, sock, main_s))
                finally:
                    p.terminate()
                    p.wait()
        for name, _ in ways:
            rs = rounds[name]
            cpu = sorted(r["cpu_pct"] for r in rs)[len(rs) // 2]
            hwm = sorted(r["hwm_mib"] for r in rs)[len(rs) // 2]
            table.add(f"genred, {name}, interval 1 s, {len(rs)} x {main_s} s",
                      f"CPU {cpu:.2f}% of a core, peak RSS {hwm:.1f} MiB", "-", "-",
                      f"medians of {len(rs)} alternating rounds (CPU " +
                      "/".join(f"{r['cpu_pct']:.2f}" for r in rs) +
                      f"); 1 watching client, no stats polling; "
                      f"{sum(r['results'] for r in rs)} results")
        # End of window -> client through PortAudio, beside the native
        # path's rows below.
        p, sock = start_genred(build, model, tmp, session.env, 1.0, "portaudio")
        try:
            wait_for_ok(sock)
            r = steady_run(p.pid, sock, main_s, 1)
            table.add("latency end of window -> watching client, interval 1 s, PortAudio, ALSA "
                      "pulse plugin",
                      "median {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(*r["latency_ms"]),
                      "-", "-", "as the native rows below")
        finally:
            p.terminate()
            p.wait()
        by_interval = {}
        for interval in (1.0, 0.25):
            p, sock = start_genred(build, model, tmp, session.env, interval)
            try:
                wait_for_ok(sock)
                r = steady_run(p.pid, sock, main_s, 1)
                by_interval[interval] = r
                table.add(f"genred live capture (native PulseAudio), interval {interval:g} s, {main_s} s",
                          f"CPU {r['cpu_pct']:.1f}% of a core, peak RSS {r['hwm_mib']:.1f} MiB",
                          "-", "-",
                          f"{r['results']} results, overruns {r['overruns']}, "
                          f"net {r['inference_ms']:.1f} ms/window")
                table.add(f"latency end of window -> watching client, interval {interval:g} s",
                          "median {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(*r["latency_ms"]),
                          "-", "-", "from the daemon having the window's last sample; of which window "
                          "taken -> read: median {:.1f} ms".format(r["delivery_ms"][0]))
                if interval == 0.25:
                    for n in (10, 100, 1000):
                        f = steady_run(p.pid, sock, fan_s, n)
                        table.add(f"fan-out {n} watching clients, interval 0.25 s, {fan_s} s",
                                  f"CPU {f['cpu_pct']:.1f}%; window taken -> read: median "
                                  f"{f['delivery_ms'][0]:.1f} ms, p99 {f['delivery_ms'][1]:.1f} ms",
                                  f"1 client: CPU {r['cpu_pct']:.1f}%",
                                  f"{f['cpu_pct'] / r['cpu_pct']:.2f}x CPU",
                                  f"{f['deliveries']} lines read, overruns {f['overruns']}, "
                                  f"dropped clients {f['dropped'] + f['closed']}, "
                                  f"peak RSS {f['hwm_mib']:.1f} MiB")
            finally:
                p.terminate()
                p.wait()
        if 1.0 in by_interval and 0.25 in by_interval:
            a, b = by_interval[1.0], by_interval[0.25]
            table.add("genred CPU, interval 0.25 s vs 1 s", f"{b['cpu_pct']:.1f}%", f"{a['cpu_pct']:.1f}%",
                      f"{b['cpu_pct'] / a['cpu_pct']:.2f}x")
    finally:
        session.close()
        shutil.rmtree(tmp, ignore_errors=True)
