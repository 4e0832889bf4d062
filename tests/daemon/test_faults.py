#!/usr/bin/python3
"""Fault and abuse tests of the real genred (suite `faults`).

  StartupFaultTests  the socket's directory is missing or not writable ->
                     a clear start-up error naming it; stdout/stderr closed
                     or on a full disk (/dev/full) -> genred still serves
                     and stops cleanly
  AbuseTests         a daemon in file-source demo mode with a watching
                     client, hammered with connect/disconnect cycles,
                     pipelined request floods, overlong lines, binary
                     garbage and clients that never read; afterwards its
                     RSS and fd count are back where they were, no capture
                     overruns, and the watcher got every result

Other faults are covered where the feature lives (doc/reliability.md): a
corrupt model on SIGHUP in test_daemon.py ReloadTests, the capture device
going away and coming back in test_daemon.py PulseTests.

The daemon helpers (Daemon, base_config, test_model, excerpt_wav) are those
of test_daemon.py.  Environment as for test_daemon.py: GENRED, GENRECTL,
SOURCE_ROOT, GENRE_DATA.  Run one group: test_faults.py AbuseTests
"""
import json
import os
import random
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from daemon_harness import (GENRED, GENRECTL, TempDirTest, base_config, exit_status,  # noqa: E402
                            excerpt_wav, test_model, wait_for)
from testutil import as_nobody  # noqa: E402



def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def demo_config(directory, interval=0.25, extra=""):
    """A looping file source (demo mode, no audio device)."""
    model = test_model(directory)
    wav = excerpt_wav(os.path.join(directory, "clip.wav"), 4.0)
    return base_config(model, "source = file\nfile = %s\nloop = yes" % wav,
                       interval=interval, smoothing=1, extra=extra)


class Watcher(threading.Thread):
    """A client watching for the whole test, in its own thread: records
    (seq, daemon time, receive time) of every result."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.sendall(b"watch\n")
        self.results = []
        self.bad = []
        self.closed = False
        self.stopping = threading.Event()

    def run(self):
        buf = b""
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.closed = True
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    obj = json.loads(line)
                except ValueError:
                    self.bad.append(line)
                    continue
                if obj.get("type") == "result":
                    self.results.append((obj["seq"], obj["time"], time.monotonic()))

    def finish(self):
        self.stopping.set()
        self.join(5)
        self.sock.close()


def read_lines(sock, count, timeout=30.0):
    """Read `count` newline-terminated JSON objects from sock."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < count:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        parts = buf.split(b"\n")
        buf = parts.pop()
        out.extend(json.loads(p) for p in parts)
    return out


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def exchange(path, payload, replies, timeout=30.0):
    """Send payload on a fresh connection while reading; return the first
    `replies` objects after the greeting.  Reading concurrently keeps the
    client's queue short, as a well-behaved pipelining client does."""
    s = connect(path)
    try:
        hello = read_lines(s, 1, timeout)
        assert hello and hello[0]["type"] == "hello", hello
        got = []
        done = threading.Event()

        def reader():
            try:
                got.extend(read_lines(s, replies, timeout))
            finally:
                done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        s.sendall(payload)
        t.join(timeout)
        return got
    finally:
        s.close()


# ---------------------------------------------------------------------------------------

class StartupFaultTests(TempDirTest):
    def test_socket_directory_missing(self):
        missing = os.path.join(self.dir, "no-such-dir")
        d = self.start(demo_config(self.dir), args=["--socket", os.path.join(missing, "g.sock")],
                       expect_ready=False)
        self.assertEqual(d.proc.wait(timeout=20), 1, d.output())
        self.assertIn("error: socket directory %s does not exist" % missing, d.output())

    def test_socket_directory_not_writable(self):
        locked = os.path.join(self.dir, "locked")
        os.mkdir(locked, 0o755 if os.geteuid() == 0 else 0o500)
        # The daemon must read its config, model and audio as nobody too.
        os.chmod(self.dir, 0o755)
        config = demo_config(self.dir)
        for name in os.listdir(self.dir):
            p = os.path.join(self.dir, name)
            if stat.S_ISREG(os.stat(p).st_mode):
                os.chmod(p, 0o644)
        conf = os.path.join(self.dir, "genred.conf")
        with open(conf, "w") as f:
            f.write(config)
        os.chmod(conf, 0o644)
        cmd = [GENRED, "-c", conf, "--socket", os.path.join(locked, "g.sock")]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                           preexec_fn=as_nobody if os.geteuid() == 0 else None)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("error: socket directory %s is not writable: Permission denied" % locked,
                      p.stderr)
        self.assertFalse(os.path.exists(os.path.join(locked, "g.sock")))

    def check_serves_and_stops(self, d):
        """Status (and a SIGHUP reload, which logs) with its output going
        nowhere; every byte a client receives is still protocol JSON."""
        st = d.status()
        self.assertEqual(st["type"], "status")
        d.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: d.stats()["config_generation"] == 1, 10))
        objects = d.watch(1.0)
        self.assertTrue(any(o["type"] == "result" for o in objects), objects)
        ctl = d.genrectl("--json", "stats")
        self.assertEqual(ctl.returncode, 0, ctl.stderr)
        self.assertEqual(json.loads(ctl.stdout)["type"], "stats")
        self.assertIsNone(d.proc.poll())
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(timeout=5)
        # -SIGPIPE would be a death by writing to a closed stream.
        self.assertEqual(rc, 0, "genred exited %d" % rc)
        self.assertFalse(os.path.exists(d.sock), "socket left behind")

    def test_stdout_stderr_closed(self):
        d = self.start(demo_config(self.dir),
                       wrap=lambda cmd: ["/bin/sh", "-c", 'exec "$@" >&- 2>&-', "sh"] + cmd)
        self.check_serves_and_stops(d)

    def test_stdout_stderr_disk_full(self):
        d = self.start(demo_config(self.dir),
                       wrap=lambda cmd: ["/bin/sh", "-c", 'exec "$@" >/dev/full 2>&1', "sh"]
                       + cmd)
        self.check_serves_and_stops(d)

    def test_stdout_closed_to_reader_pipe(self):
        """Output into a pipe whose reader went away: EPIPE, not SIGPIPE."""
        r, w = os.pipe()
        os.close(r)
        d = self.start(demo_config(self.dir), pass_fds=(w,),
                       wrap=lambda cmd: ["/bin/sh", "-c", 'exec "$@" >&%d 2>&%d' % (w, w), "sh"]
                       + cmd)
        os.close(w)
        self.check_serves_and_stops(d)


# ---------------------------------------------------------------------------------------

def with_fd_limit(soft, hard):
    """wrap= for Daemon: run genred with RLIMIT_NOFILE soft/hard."""
    return lambda cmd: ["/bin/sh", "-c", 'ulimit -Sn %d && ulimit -Hn %d && exec "$@"'
                        % (soft, hard), "sh"] + cmd


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return tuple(int(x) for x in line.split()[3:5])
    raise AssertionError("no open files limit for pid %d" % pid)


class FdLimitTests(TempDirTest):
    """Running out of file descriptors (issue 14, defect 3)."""

    def test_max_clients_checked_against_fd_limit(self):
        config = demo_config(self.dir, extra="max_clients = 1000\n")
        d = self.start(config, wrap=with_fd_limit(256, 256), expect_ready=False)
        self.assertEqual(d.proc.wait(timeout=20), 1, d.output())
        self.assertIn("max_clients = 1000 needs 1064 file descriptors, but the limit is 256",
                      d.output())
        # A hard limit with room: genred raises its soft limit itself.
        d = self.start(config, wrap=with_fd_limit(256, 4096))
        self.assertEqual(open_files_limit(d.proc.pid), (1064, 4096))
        # A reload asking for more than the hard limit is refused.
        with open(d.conf, "w") as f:
            f.write(demo_config(self.dir, extra="max_clients = 5000\n"))
        d.signal(signal.SIGHUP)
        st = wait_for(lambda: (lambda s: s if s["last_reload_error"] else None)(d.stats()))
        self.assertIsNotNone(st, d.output())
        self.assertIn("max_clients = 5000 needs 5064 file descriptors", st["last_reload_error"])
        self.assertEqual(st["config_generation"], 0)
        d.stop(self)

    def test_out_of_fds(self):
        """With every fd taken (the limit lowered under a running daemon):
        the watchdog keeps being fed, new clients are refused at once with
        an error line instead of timing out, it is logged, connected clients
        are still served, and clients are admitted again once fds are free."""
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join(self.dir, "notify")
        notify.bind(notify_path)
        notify.settimeout(0.1)
        self.addCleanup(notify.close)
        d = self.start(demo_config(self.dir),
                       env={"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000"})
        pid = d.proc.pid
        admitted = [connect(d.sock), connect(d.sock)]
        for c in admitted:
            self.assertEqual(read_lines(c, 1)[0]["type"], "hello")

        def only_admitted():
            admitted[0].sendall(b"stats\n")
            return read_lines(admitted[0], 1)[0]["clients"] == 2
        # Earlier connections (start-up checks) closed on the daemon's side too.
        self.assertTrue(wait_for(only_admitted, 5))
        # No fd left: the limit is what is open now.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (fd_count(pid), fd_count(pid)))
        # (An fd the daemon was just closing may still admit one more.)
        for _ in range(3):
            c = connect(d.sock)
            reply = read_lines(c, 1, timeout=2.0)
            if reply[0]["type"] == "error":
                c.close()
                break
            admitted.append(c)
        for _ in range(5):
            c = connect(d.sock)
            reply = read_lines(c, 1, timeout=2.0)
            c.close()
            self.assertEqual(reply[0].get("error"), "too many clients", reply)
        while True:     # drop what was queued before
            try:
                notify.recv(4096)
            except socket.timeout:
                break
        pings = 0
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                pings += notify.recv(4096) == b"WATCHDOG=1"
            except socket.timeout:
                pass
        self.assertGreaterEqual(pings, 4, "watchdog not fed while out of fds")
        admitted[0].sendall(b"status\n")
        self.assertEqual(read_lines(admitted[0], 1)[0]["type"], "status")
        self.assertIn("out of file descriptors (Too many open files)", d.output())
        for c in admitted:
            c.close()

        # Admitted again once the daemon has seen the closes (until then a
        # new client may still be refused, or reset while sending).
        def served_again():
            try:
                return d.status()["type"] == "status"
            except (OSError, AssertionError):
                return False
        self.assertTrue(wait_for(served_again, 5), d.output())
        d.stop(self)


# ---------------------------------------------------------------------------------------

INTERVAL = 0.25
RSS_GROWTH_LIMIT_KIB = 2048
ROUNDS = 3
SANITIZED = bool(os.environ.get("GENRED_SANITIZED"))
BATCH = 250              # ~100 kB of replies, under max_queued


class AbuseTests(TempDirTest):
    def abuse_round(self, path, scale):
        """One round of every kind of abuse; scale 1 is the full round."""
        counts = {}
        # Connect/disconnect cycles, half of them reading the greeting.
        cycles = int(10000 * scale)
        for i in range(cycles):
            s = connect(path)
            if i % 2:
                s.recv(256)
            s.close()
        counts["connect/disconnect cycles"] = cycles

        # A flood of status requests, pipelined in batches of BATCH.  (A
        # client that sends more than max_queued worth of replies without
        # reading is dropped, by design: doc/protocol.md, Limits.)
        n = int(100000 * scale)
        s = connect(path)
        try:
            read_lines(s, 1)
            for _ in range(n // BATCH):
                s.sendall(b"status\n" * BATCH)
                got = read_lines(s, BATCH)
                self.assertEqual(len(got), BATCH)
                self.assertEqual(got[-1]["type"], "status")
        finally:
            s.close()
        counts["pipelined status requests"] = n

        # Overlong lines: one error each, the connection stays usable.
        lines = max(1, int(20 * scale))
        payload = (b"x" * 100000 + b"\n") * lines + b"version\n"
        got = exchange(path, payload, lines + 1)
        self.assertEqual([o.get("error") for o in got[:lines]], ["request too long"] * lines)
        self.assertEqual(got[lines]["type"], "version")
        counts["100 kB lines"] = lines

        # Binary garbage: whatever comes back is JSON, then version still works.
        rng = random.Random(7)
        garbage = bytes(rng.getrandbits(8) for _ in range(int(200000 * scale)))
        s = connect(path)
        try:
            read_lines(s, 1)
            s.sendall(garbage.replace(b"\n", b"\0") + b"\nversion\n")
            got = read_lines(s, 2)
            self.assertEqual(got[0]["type"], "error")
            self.assertEqual(got[1]["type"], "version")
        finally:
            s.close()
        counts["bytes of binary garbage"] = len(garbage)

        # Clients that never read: watch and ask for a lot, then sit there.
        # Their output passes max_queued; they are dropped, nobody else waits.
        sleepers = [connect(path) for _ in range(max(1, int(8 * scale)))]
        for s in sleepers:
            s.setblocking(False)
            try:
                for _ in range(200):
                    s.send(b"watch\n" + b"stats\n" * 50)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass    # full, or already dropped by the server
        counts["clients that never read"] = len(sleepers)
        time.sleep(1.0)
        for s in sleepers:
            s.close()
        return counts

    def test_abuse_leaves_no_trace(self):
        d = self.start(demo_config(self.dir, interval=INTERVAL))
        pid = d.proc.pid
        watcher = Watcher(d.sock)
        watcher.start()
        try:
            # Warm-up: every code path once, so later growth is a leak, not
            # first-use allocation (buffers, the allocator's arenas).
            self.abuse_round(d.sock, scale=1)
            time.sleep(0.5)
            rss0, fds0 = rss_kib(pid), fd_count(pid)
            st0 = d.stats()
            started = time.monotonic()
            rss = []
            for _ in range(ROUNDS):
                counts = self.abuse_round(d.sock, scale=1)
                rss.append(rss_kib(pid))
            took = time.monotonic() - started
            # Only the watcher and the asking client itself are left.
            self.assertTrue(wait_for(lambda: d.stats()["clients"] == 2, 10), d.stats())
            time.sleep(0.5)
            rss1, fds1 = rss_kib(pid), fd_count(pid)
            st1 = d.stats()
        finally:
            watcher.finish()

        print("%d abuse rounds after a warm-up one, %.1f s, each: %s" %
              (ROUNDS, took, ", ".join("%d %s" % (v, k) for k, v in counts.items())),
              file=sys.stderr)
        print("RSS after warm-up %d KiB, after each round %s KiB, at the end %d (%+d); "
              "fds %d -> %d, clients dropped %d, requests %d" %
              (rss0, rss, rss1, rss1 - rss0, fds0, fds1,
               st1["clients_dropped"] - st0["clients_dropped"],
               st1["requests_total"] - st0["requests_total"]), file=sys.stderr)
        if SANITIZED:
            print("sanitizer build: RSS not checked (ASan's quarantine holds freed memory)",
                  file=sys.stderr)
        else:
            self.assertLess(rss1 - rss0, RSS_GROWTH_LIMIT_KIB, "RSS grew %d KiB" % (rss1 - rss0))
        self.assertEqual(fds1, fds0)
        self.assertEqual(st1["overruns"], 0, st1)
        self.assertGreaterEqual(st1["clients_dropped"] - st0["clients_dropped"], 1,
                                "no client that never reads was dropped")
        self.assertGreaterEqual(st1["requests_total"] - st0["requests_total"], ROUNDS * 100000)

        # The watcher was never dropped and got every result, in time.
        self.assertFalse(watcher.closed, "the watcher was disconnected")
        self.assertEqual(watcher.bad, [])
        seqs = [r[0] for r in watcher.results]
        self.assertGreater(len(seqs), took / INTERVAL * 0.8)
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "missed results")
        stamped = [b[1] - a[1] for a, b in zip(watcher.results, watcher.results[1:])]
        received = [b[2] - a[2] for a, b in zip(watcher.results, watcher.results[1:])]
        print("watcher: %d results, gap between results max %.3f s (daemon stamps), "
              "%.3f s (received)" % (len(seqs), max(stamped), max(received)), file=sys.stderr)
        self.assertLess(max(stamped), 4 * INTERVAL)
        self.assertLess(max(received), 1.5)
        d.stop(self)


if __name__ == "__main__":
    for exe in (GENRED, GENRECTL):
        if not exe or not os.access(exe, os.X_OK):
            sys.exit("set GENRED and GENRECTL to the built executables")
    groups = sys.argv[1:] or ["StartupFaultTests", "FdLimitTests", "AbuseTests"]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for g in groups:
        suite.addTests(loader.loadTestsFromTestCase(globals()[g]))
    sys.exit(exit_status(unittest.TextTestRunner(verbosity=2).run(suite)))
