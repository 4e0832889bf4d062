#!/usr/bin/python3
"""Tests of genred's socket server and genrectl (suite `protocol`).

The server runs inside tests/server_harness (fake daemon callbacks, a
timer broadcasting results); these tests talk to it over its UNIX socket
exactly as clients of the real daemon would (doc/protocol.md).

Environment: GENRED_HARNESS and GENRECTL point at the built executables.
Run one group with: test_protocol.py CommandTests
"""
import json
import os
import re
import resource
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import grp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from testutil import as_nobody, wait_for  # noqa: E402

HARNESS = os.environ.get("GENRED_HARNESS", "")
GENRECTL = os.environ.get("GENRECTL", "")
# meson's project version, the one the programs report.
VERSION = os.environ.get("GENRED_VERSION", "")

SERVER_STATS = ["clients", "watchers", "connections_total", "clients_dropped",
                "clients_refused", "clients_timed_out", "requests_total", "protocol_errors"]
COMMANDS = ["status", "watch", "unwatch", "stats", "version", "help"]



class Harness:
    """A running server_harness on a socket in a private directory."""

    def __init__(self, *args, path=None, expect_ready=True, pass_fds=(), preexec_fn=None,
                 warnings=False):
        """warnings: the server's warning lines on stderr are expected (kept
        in self.warnings) rather than a failure."""
        self.warnings_allowed = warnings
        self.warnings = []
        self.dir = tempfile.mkdtemp(prefix="genred-proto-")
        self.path = path or os.path.join(self.dir, "genred.sock")
        cmd = [HARNESS] + list(args)
        if "--inherited-fd" not in args:
            cmd += ["--socket", self.path]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=pass_fds, preexec_fn=preexec_fn)
        self.pid = self.proc.pid
        self.expect_ready = expect_ready
        self.exit_checked = False
        if expect_ready:
            ready, _, _ = select.select([self.proc.stdout], [], [], 10)
            line = self.proc.stdout.readline() if ready else b""
            if line != b"ready\n":
                self.proc.kill()
                _, err = self.proc.communicate()
                raise AssertionError("harness did not start: %r %r" % (line, err))

    def fail_output(self, timeout=10):
        """For a harness expected to refuse to start: (exit code, stderr)."""
        _, err = self.proc.communicate(timeout=timeout)
        self.exit_checked = True
        return self.proc.returncode, err.decode(errors="replace")

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])   # utime + stime

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit code (0 = clean shutdown)."""
        if self.exit_checked:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.exit_checked = True
        if self.warnings_allowed:
            lines = err.decode(errors="replace").splitlines(keepends=True)
            self.warnings = [x for x in lines if x.startswith("server_harness: warning: ")]
            err = "".join(x for x in lines if x not in self.warnings).encode()
        if self.expect_ready:
            # A started harness must shut down cleanly and silently (this
            # also catches sanitizer reports when built with them).
            if self.proc.returncode != 0 or err:
                raise AssertionError("harness exit %s: %s" % (self.proc.returncode,
                                                              err.decode(errors="replace")))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.cleanup()

    def cleanup(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


class Client:
    """A line-oriented protocol client with timeouts."""

    def __init__(self, path, read_hello=True, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.hello = self.read() if read_hello else None

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        """One raw line without '\\n'; None on EOF."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read(self):
        line = self.readline()
        if line is None:
            return None
        return json.loads(line)

    def request(self, command):
        self.send(command.encode() + b"\n")
        return self.read()

    def read_until_eof(self, limit=100000):
        """Read and discard until EOF; returns the number of lines seen."""
        n = 0
        while self.readline() is not None:
            n += 1
            if n > limit:
                raise AssertionError("no EOF")
        return n

    def quiet_for(self, seconds):
        """True if nothing arrives for `seconds`."""
        if self.buf:
            return False
        ready, _, _ = select.select([self.sock], [], [], seconds)
        return not ready

    def close(self):
        self.sock.close()

    def __del__(self):
        self.sock.close()




def stats_of(path):
    c = Client(path)
    s = c.request("stats")
    c.close()
    return s


class CommandTests(unittest.TestCase):
    def test_greeting(self):
        with Harness() as h:
            c = Client(h.path)
            self.assertEqual(c.hello, {"type": "hello", "server": "genred",
                                       "version": VERSION, "protocol": 1})

    def test_status_object(self):
        with Harness("--interval-ms", "20") as h:
            c = Client(h.path)
            first = c.request("status")
            self.assertEqual(first["type"], "status")
            for key in ("state", "seq", "genre", "window", "time", "level_dbfs", "model"):
                self.assertIn(key, first)
            ok = wait_for(lambda: (lambda s: s if s["state"] == "ok" else None)(c.request("status")))
            self.assertIsNotNone(ok, "fake daemon never left warming")
            self.assertGreater(ok["seq"], first["seq"])
            self.assertIn(ok["genre"], ok["probabilities"])
            self.assertAlmostEqual(sum(ok["probabilities"].values()), 1.0, places=3)

    def test_warming_status(self):
        with Harness("--interval-ms", "0") as h:
            s = Client(h.path).request("status")
            self.assertEqual((s["state"], s["genre"], s["seq"], s["progress"]),
                             ("warming", None, 0, 0))

    def test_version(self):
        with Harness() as h:
            self.assertEqual(Client(h.path).request("version"),
                             {"type": "version", "server": "genred", "version": VERSION,
                              "protocol": 1})

    def test_help(self):
        with Harness() as h:
            self.assertEqual(Client(h.path).request("help"),
                             {"type": "help", "commands": COMMANDS})

    def test_stats_members(self):
        with Harness() as h:
            c = Client(h.path)
            c.request("version")
            c.request("nonsense")
            s = c.request("stats")
            self.assertEqual(s["type"], "stats")
            for key in SERVER_STATS:
                self.assertIsInstance(s[key], int, key)
            self.assertEqual(s["clients"], 1)
            self.assertEqual(s["watchers"], 0)
            self.assertEqual(s["connections_total"], 1)
            self.assertEqual(s["requests_total"], 3)     # version, nonsense, stats
            self.assertEqual(s["protocol_errors"], 1)
            # The daemon's members, from the stats callback.
            self.assertEqual(s["source"], "harness")
            self.assertIsNone(s["last_reload_error"])
            self.assertIn("uptime", s)

    def test_whitespace_and_crlf(self):
        with Harness() as h:
            c = Client(h.path)
            c.send(b"  version\t\r\n")
            self.assertEqual(c.read()["type"], "version")
            c.send(b"\thelp \n")
            self.assertEqual(c.read()["type"], "help")

    def test_commands_are_case_sensitive(self):
        with Harness() as h:
            r = Client(h.path).request("STATUS")
            self.assertEqual(r, {"type": "error", "error": "unknown command", "request": "STATUS"})

    def test_blank_lines_ignored(self):
        with Harness() as h:
            c = Client(h.path)
            c.send(b"\n\r\n   \nversion\n")
            self.assertEqual(c.read()["type"], "version")
            self.assertTrue(c.quiet_for(0.2))
            self.assertEqual(c.request("stats")["requests_total"], 2)

    def test_pipelined_requests_answered_in_order(self):
        with Harness() as h:
            c = Client(h.path)
            c.send(b"version\nhelp\nstatus\nstats\n")
            self.assertEqual([c.read()["type"] for _ in range(4)],
                             ["version", "help", "status", "stats"])

    def test_request_split_across_writes(self):
        with Harness() as h:
            c = Client(h.path)
            for piece in (b"ve", b"rs", b"ion", b"\r", b"\n"):
                c.send(piece)
                time.sleep(0.02)
            self.assertEqual(c.read()["type"], "version")

    def test_watch_streams_results_and_changes(self):
        with Harness("--interval-ms", "10", "--change-every", "3") as h:
            c = Client(h.path)
            self.assertEqual(c.request("watch"), {"type": "ok", "command": "watch"})
            self.assertEqual(stats_of(h.path)["watchers"], 1)
            results, changes = [], []
            while len(changes) < 3:
                obj = c.read()
                self.assertIsNotNone(obj)
                (results if obj["type"] == "result" else changes).append(obj)
                self.assertIn(obj["type"], ("result", "change"))
            seqs = [r["seq"] for r in results]
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
            genre_at = {r["seq"]: r["genre"] for r in results}
            for ch in changes:
                self.assertNotEqual(ch["from"], ch["to"])
                self.assertEqual(ch["to"], genre_at[ch["seq"]])
                if ch["seq"] - 1 in genre_at:
                    self.assertEqual(ch["from"], genre_at[ch["seq"] - 1])

    def test_unwatch_stops_stream(self):
        with Harness("--interval-ms", "10") as h:
            c = Client(h.path)
            c.request("watch")
            self.assertEqual(c.read()["type"], "result")
            c.send(b"unwatch\n")
            while True:     # results already queued may precede the ack
                obj = c.read()
                if obj["type"] == "ok":
                    break
                self.assertIn(obj["type"], ("result", "change"))
            self.assertEqual(obj, {"type": "ok", "command": "unwatch"})
            self.assertTrue(c.quiet_for(0.3))
            self.assertEqual(stats_of(h.path)["watchers"], 0)

    def test_status_unavailable(self):
        with Harness("--status-fails") as h:
            self.assertEqual(Client(h.path).request("status"),
                             {"type": "error", "error": "status unavailable"})


class MalformedInputTests(unittest.TestCase):
    def test_unknown_command_echo_is_sanitised_and_truncated(self):
        with Harness() as h:
            c = Client(h.path)
            r = c.request("x" * 100)
            self.assertEqual(r, {"type": "error", "error": "unknown command", "request": "x" * 64})
            c.send("bogus\u00e9 \"q\"\n".encode())
            self.assertEqual(c.read()["request"], "bogus?? \"q\"")

    def test_binary_data(self):
        with Harness() as h:
            c = Client(h.path)
            for junk in (b"sta\x00tus\n", b"\x16\x03\x01\x02\x00\n", b"status\x7f\n"):
                c.send(junk)
                self.assertEqual(c.read(), {"type": "error", "error": "binary data in request"})
            self.assertEqual(c.request("version")["type"], "version")   # connection kept
            self.assertEqual(c.request("stats")["protocol_errors"], 3)

    def test_overlong_line_reported_once_and_discarded(self):
        with Harness("--max-line", "32") as h:
            c = Client(h.path)
            c.send(b"status" + b"y" * 40 + b"\n")
            self.assertEqual(c.read(), {"type": "error", "error": "request too long", "limit": 32})
            # A huge line in pieces, with no newline for a while: one error, nothing queued.
            for _ in range(50):
                c.send(b"z" * 1000)
            self.assertEqual(c.read(), {"type": "error", "error": "request too long", "limit": 32})
            self.assertTrue(c.quiet_for(0.2))
            c.send(b"tail of the long line\nversion\n")
            self.assertEqual(c.read()["type"], "version")

    def test_line_of_exactly_max_line_accepted(self):
        with Harness("--max-line", "32") as h:
            c = Client(h.path)
            line = b" " * 25 + b"version"
            self.assertEqual(len(line), 32)
            c.send(line + b"\n")
            self.assertEqual(c.read()["type"], "version")
            c.send(line + b"\r\n")      # the \r does not count
            self.assertEqual(c.read()["type"], "version")
            c.send(line + b" \n")
            self.assertEqual(c.read()["error"], "request too long")

    def test_reload_changes_limits(self):
        with Harness("--max-line", "64", "--reload-max-line", "16") as h:
            c = Client(h.path)
            self.assertEqual(c.request("a" * 20)["error"], "unknown command")
            h.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: Client(h.path).request("b" * 20)["error"]
                                     == "request too long"))
            r = c.request("a" * 20)      # existing client: new limit, same connection
            self.assertEqual(r, {"type": "error", "error": "request too long", "limit": 16})

    def test_disconnect_mid_line(self):
        with Harness() as h:
            for partial in (b"sta", b"stat\r", b"x" * 5000):
                c = Client(h.path)
                c.send(partial)
                c.close()
            self.assertTrue(wait_for(lambda: stats_of(h.path)["clients"] == 1))
            self.assertTrue(h.alive())

    def test_close_without_reading_replies(self):
        # Replies to a vanished peer must give EPIPE, never a fatal SIGPIPE.
        with Harness("--interval-ms", "5") as h:
            for _ in range(20):
                c = Client(h.path, read_hello=False)
                c.send(b"watch\n" + b"stats\nstatus\n" * 200)
                c.close()
            time.sleep(0.3)
            self.assertTrue(h.alive())
            self.assertEqual(stats_of(h.path)["clients"], 1)

    def test_half_closed_client_gets_its_replies(self):
        with Harness() as h:
            c = Client(h.path)
            c.send(b"version\nhelp\n")
            c.sock.shutdown(socket.SHUT_WR)
            self.assertEqual([c.read()["type"], c.read()["type"]], ["version", "help"])
            self.assertIsNone(c.readline())


class ClientLimitTests(unittest.TestCase):
    def test_reader_that_never_reads_is_dropped(self):
        with Harness("--interval-ms", "2", "--pad", "4000", "--max-queued", "65536") as h:
            stuck = Client(h.path)
            stuck.request("watch")          # ack read, then never read again
            good = Client(h.path)
            self.assertEqual(good.request("watch")["type"], "ok")

            def dropped():
                for _ in range(200):        # keep the good client drained meanwhile
                    good.read()
                return stats_of(h.path)["clients_dropped"] >= 1
            self.assertTrue(wait_for(dropped, timeout=30), "stuck client never dropped")
            s = stats_of(h.path)
            self.assertEqual(s["clients_dropped"], 1)
            self.assertEqual(s["watchers"], 1)
            # The good watcher keeps getting fresh, consecutive results.
            seqs = []
            while len(seqs) < 20:
                obj = good.read()
                self.assertIsNotNone(obj)
                if obj["type"] == "result":
                    seqs.append(obj["seq"])
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 20)))
            # The dropped one sees what was in flight, then EOF.
            stuck.read_until_eof()

    def test_many_clients(self):
        with Harness("--max-clients", "250", "--interval-ms", "20") as h:
            clients = [Client(h.path, read_hello=False) for _ in range(200)]
            for c in clients:
                self.assertEqual(c.read()["type"], "hello")
            for c in clients:
                c.send(b"status\nwatch\n")
            for c in clients:
                self.assertEqual(c.read()["type"], "status")
                self.assertEqual(c.read(), {"type": "ok", "command": "watch"})
            s = stats_of(h.path)
            self.assertEqual((s["clients"], s["watchers"]), (201, 200))
            for c in clients:       # every watcher gets the next broadcast
                obj = c.read()
                self.assertIn(obj["type"], ("result", "change"))
            for c in clients:
                c.close()
            self.assertTrue(wait_for(lambda: stats_of(h.path)["clients"] == 1))

    def test_max_clients(self):
        with Harness("--max-clients", "5") as h:
            clients = [Client(h.path) for _ in range(5)]
            extra = Client(h.path, read_hello=False)
            self.assertEqual(extra.read(), {"type": "error", "error": "too many clients", "limit": 5})
            self.assertIsNone(extra.readline())
            for c in clients:       # the admitted ones are unaffected
                self.assertEqual(c.request("version")["type"], "version")
            clients.pop().close()

            refused_stats = []

            def stats_once_admitted():
                # Until the server has seen that close, a stats client is
                # the sixth and is itself refused ("too many clients"):
                # count that and ask again.
                c = Client(h.path, read_hello=False)
                hello = c.read()
                if hello.get("error") == "too many clients":
                    refused_stats.append(hello)
                    c.close()
                    return None
                s = c.request("stats")
                c.close()
                return s
            s = wait_for(stats_once_admitted)
            self.assertIsNotNone(s)
            self.assertEqual(s["clients_refused"], 1 + len(refused_stats))
            self.assertEqual(s["clients"], 5)
            self.assertEqual(s["connections_total"], 7 + len(refused_stats))

    def test_fd_count_flat_after_2000_connections(self):
        with Harness("--interval-ms", "10") as h:
            before = h.fd_count()
            for i in range(2000):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(h.path)
                if i % 4 == 1:
                    s.sendall(b"status\n")
                elif i % 4 == 2:
                    s.sendall(b"watch\nsta")
                elif i % 4 == 3:
                    s.recv(100)
                s.close()
            self.assertTrue(wait_for(lambda: stats_of(h.path)["clients"] == 1))
            after = wait_for(lambda: h.fd_count() == before and h.fd_count(), timeout=5)
            self.assertEqual(after, before, "fds before %d, after %d" % (before, h.fd_count()))
            self.assertGreaterEqual(stats_of(h.path)["connections_total"], 2000)

    def test_idle_clients_time_out(self):
        """Clients that connect and send nothing cannot hold every slot for
        ever: without a request for idle_timeout they get an "idle timeout"
        error and are closed.  A watcher, which only reads, is exempt; a
        client that keeps sending requests stays (issue 14)."""
        with Harness("--max-clients", "3", "--idle-timeout-ms", "600",
                     "--interval-ms", "100") as h:
            watcher, idle, active = Client(h.path), Client(h.path), Client(h.path)
            self.assertEqual(watcher.request("watch")["type"], "ok")
            full = Client(h.path, read_hello=False)
            self.assertEqual(full.read()["error"], "too many clients")
            start = time.monotonic()
            for _ in range(8):
                time.sleep(0.2)
                self.assertEqual(active.request("version")["type"], "version")
            reply = idle.read()
            self.assertEqual((reply["type"], reply["error"], reply["limit"]),
                             ("error", "idle timeout", 0.6))
            self.assertIsNone(idle.read())
            self.assertLess(time.monotonic() - start, 1.7)
            # The freed slot takes a new client; the others are still there.
            fresh = Client(h.path)
            self.assertEqual(fresh.hello["type"], "hello")
            stats = active.request("stats")
            self.assertEqual((stats["clients"], stats["watchers"], stats["clients_timed_out"]),
                             (3, 1, 1))
            seen = [watcher.read()["type"] for _ in range(5)]
            self.assertIn("result", seen)

    def test_out_of_fds_refuses_at_once(self):
        """Out of file descriptors, a new client is told "too many clients"
        at once (the server gives up its spare fd to accept and close it)
        instead of waiting in the backlog until it times out; the server
        does not spin, warns (rate-limited), and admits clients again once
        fds are free (issue 14, defect 3)."""
        probe = Harness("--interval-ms", "0")
        base = probe.fd_count()     # stdio, epoll, signal pipe/eventfd, listener, spare
        probe.__exit__(None, None, None)
        limit = base + 2            # room for two clients

        def low_fd_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        with Harness("--interval-ms", "0", preexec_fn=low_fd_limit, warnings=True) as h:
            admitted = [Client(h.path), Client(h.path)]
            refused = [Client(h.path, read_hello=False, timeout=2.0) for _ in range(5)]
            for c in refused:
                reply = c.read()
                self.assertEqual((reply["type"], reply["error"]), ("error", "too many clients"))
                self.assertIsNone(c.read())     # and closed
            ticks = h.cpu_ticks()
            time.sleep(1.0)
            used = h.cpu_ticks() - ticks
            self.assertLess(used, 20, "harness used %d ticks/s while out of fds" % used)
            self.assertEqual(admitted[0].request("stats")["clients_refused"], 5)
            for c in admitted:
                c.close()
            # Freed fds: clients are admitted again, once the server has
            # seen the closes (a client that comes before is still refused,
            # and its error reply is no sign of anything wrong).
            self.assertTrue(wait_for(lambda: Client(h.path).hello["type"] == "hello"))
            self.assertTrue(h.alive())
        # One warning for the burst (rate-limited), naming the cause.
        self.assertEqual(len(h.warnings), 1, h.warnings)
        self.assertIn("out of file descriptors (Too many open files)", h.warnings[0])


class SocketFileTests(unittest.TestCase):
    def test_mode_applied(self):
        # 0000 is a mode like any other, not "unset" (issue 14, defect 5).
        for mode in (0o600, 0o660, 0o666, 0o000):
            with Harness("--mode", "0%o" % mode) as h:
                st = os.stat(h.path)
                self.assertTrue(stat.S_ISSOCK(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), mode)

    def test_group_applied(self):
        gids = [g for g in ([os.getgid()] + os.getgroups())]
        if os.geteuid() == 0:
            gids = [g.gr_gid for g in grp.getgrall() if g.gr_gid != os.getgid()][:1] or gids
        name = grp.getgrgid(gids[0]).gr_name
        with Harness("--group", name) as h:
            self.assertEqual(os.stat(h.path).st_gid, gids[0])

    def test_unknown_group_refused(self):
        h = Harness("--group", "no-such-group-genred", expect_ready=False)
        with h:
            rc, err = h.fail_output()
            self.assertEqual(rc, 1)
            self.assertIn("socket group no-such-group-genred does not exist", err)
            self.assertFalse(os.path.exists(h.path))

    def test_socket_removed_on_shutdown(self):
        with Harness() as h:
            self.assertTrue(os.path.exists(h.path))
            self.assertEqual(h.stop(), 0)
            self.assertFalse(os.path.exists(h.path))

    def test_stale_socket_replaced(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        path = os.path.join(d, "genred.sock")
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(path)
        dead.close()        # the file stays: a crashed daemon's leftover
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        with Harness(path=path) as h:
            self.assertEqual(Client(h.path).request("version")["type"], "version")
        os.rmdir(d)

    def test_live_socket_refused(self):
        with Harness() as live:
            second = Harness(path=live.path, expect_ready=False)
            rc, err = second.fail_output()
            self.assertEqual(rc, 1)
            self.assertIn("already listening on " + live.path, err)
            second.__exit__(None, None, None)
            self.assertEqual(Client(live.path).request("version")["type"], "version")

    def test_missing_directory(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        missing = os.path.join(d, "not-there")
        h = Harness(path=os.path.join(missing, "genred.sock"), expect_ready=False)
        rc, err = h.fail_output()
        self.assertEqual(rc, 1)
        self.assertIn("socket directory %s does not exist" % missing, err)
        h.__exit__(None, None, None)
        os.rmdir(d)

    def test_unwritable_directory(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        # Root may write anywhere, so as root the harness runs as nobody.
        os.chmod(d, 0o755 if os.geteuid() == 0 else 0o500)
        try:
            h = Harness(path=os.path.join(d, "genred.sock"), expect_ready=False,
                        preexec_fn=as_nobody if os.geteuid() == 0 else None)
            rc, err = h.fail_output()
            self.assertEqual(rc, 1)
            self.assertIn("socket directory %s is not writable: Permission denied" % d, err)
            h.__exit__(None, None, None)
        finally:
            os.chmod(d, 0o700)
            os.rmdir(d)

    @unittest.skipIf(os.geteuid() != 0, "needs root to connect as another user")
    def test_mode_decides_who_may_connect(self):
        for mode, allowed in ((0o600, False), (0o660, False), (0o666, True)):
            with Harness("--mode", "0%o" % mode) as h:
                os.chmod(h.dir, 0o755)
                p = subprocess.run([GENRECTL, "-s", h.path, "version"], capture_output=True,
                                   text=True, preexec_fn=as_nobody, timeout=20)
                if allowed:
                    self.assertEqual(p.returncode, 0, p.stderr)
                else:
                    self.assertEqual(p.returncode, 3)
                    self.assertIn("Permission denied", p.stderr)

    def test_regular_file_not_replaced(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        path = os.path.join(d, "genred.sock")
        with open(path, "w") as f:
            f.write("precious")
        h = Harness(path=path, expect_ready=False)
        rc, err = h.fail_output()
        self.assertEqual(rc, 1)
        self.assertIn("exists and is not a socket", err)
        with open(path) as f:
            self.assertEqual(f.read(), "precious")
        os.unlink(path)
        h.__exit__(None, None, None)
        os.rmdir(d)

    def test_path_too_long(self):
        h = Harness(path="/tmp/" + "x" * 200, expect_ready=False)
        rc, err = h.fail_output()
        self.assertEqual(rc, 1)
        self.assertIn("too long", err)
        h.__exit__(None, None, None)

    def test_inherited_socket(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        path = os.path.join(d, "activated.sock")
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        with Harness("--inherited-fd", str(ls.fileno()), pass_fds=[ls.fileno()]) as h:
            self.assertEqual(Client(path).request("version")["type"], "version")
            self.assertEqual(h.stop(), 0)
        # systemd owns the file of an activated socket: it must stay.
        self.assertTrue(os.path.exists(path))
        ls.close()
        os.unlink(path)
        os.rmdir(d)

    def test_inherited_fd_must_be_listening_unix_socket(self):
        r, w = os.pipe()
        h = Harness("--inherited-fd", str(r), pass_fds=[r], expect_ready=False)
        rc, err = h.fail_output()
        self.assertEqual(rc, 1)
        self.assertIn("is not a socket", err)
        h.__exit__(None, None, None)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)   # not listening
        h = Harness("--inherited-fd", str(s.fileno()), pass_fds=[s.fileno()], expect_ready=False)
        rc, err = h.fail_output()
        self.assertEqual(rc, 1)
        self.assertIn("is not a listening socket", err)
        h.__exit__(None, None, None)
        for fd in (r, w):
            os.close(fd)
        s.close()


def genrectl(*args, env=None, timeout=20):
    e = dict(os.environ)
    e.pop("GENRED_SOCKET", None)
    e.update(env or {})
    return subprocess.run([GENRECTL] + list(args), capture_output=True, text=True,
                          env=e, timeout=timeout)


RESULT_LINE = r"(\S+ \d+%|warming up \d+%|no genre) \((ok|warming|silence|no-input)\) seq \d+" \
              r"( window \d+\.\d\u2013\d+\.\d s)?( level -?\d+\.\d dBFS)?"


class GenrectlTests(unittest.TestCase):
    def test_status_readable(self):
        with Harness("--interval-ms", "10") as h:
            wait_for(lambda: Client(h.path).request("status")["state"] == "ok")
            p = genrectl("--socket", h.path, "status")
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.splitlines()
            m = re.fullmatch(r"(\w+) 55% \(ok\) seq (\d+) window (\d+)\.0\u2013(\d+)\.0 s", lines[0])
            self.assertIsNotNone(m, lines[0])
            self.assertEqual(int(m.group(4)) - int(m.group(3)), 10)
            self.assertEqual(len(lines), 6)     # summary + top 5
            self.assertRegex(lines[1], r"^  " + m.group(1) + r" +55% #{17}$")
            for line in lines[2:]:
                self.assertRegex(line, r"^  \w+ +5% ##$")

    def test_status_while_warming(self):
        with Harness("--interval-ms", "0") as h:
            p = genrectl("--socket", h.path, "status")
            self.assertEqual(p.stdout, "warming up 0% (warming) seq 0 window 0.0\u201310.0 s"
                                       " level -23.5 dBFS\n")

    def test_status_without_genre(self):
        for state in ("silence", "no-input"):
            with Harness("--interval-ms", "0", "--state", state) as h:
                lines = genrectl("--socket", h.path, "status").stdout.splitlines()
                self.assertEqual(lines[0], "no genre (%s) seq 0 window 0.0\u201310.0 s"
                                           " level -23.5 dBFS" % state)
                self.assertEqual(len(lines), 6)
                for line in lines[1:]:
                    self.assertRegex(line, r"^  \w+ +10% ###$")

    def test_status_json_is_one_object(self):
        with Harness() as h:
            p = genrectl("--socket", h.path, "--json", "status")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.count("\n"), 1)
            self.assertEqual(json.loads(p.stdout)["type"], "status")

    def test_stats_aligned(self):
        with Harness() as h:
            p = genrectl("-s", h.path, "stats")
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.splitlines()
            keys = [l.split(":", 1)[0] for l in lines]
            for key in SERVER_STATS + ["uptime", "source", "model"]:
                self.assertIn(key, keys)
            columns = {len(l) - len(l.split(":", 1)[1].lstrip()) for l in lines}
            self.assertEqual(len(columns), 1, "values not aligned:\n" + p.stdout)
            self.assertIn("last_reload_error: -", p.stdout)
            self.assertRegex(p.stdout, r"source: +harness\n")
            j = genrectl("-s", h.path, "--json", "stats")
            self.assertEqual(json.loads(j.stdout)["type"], "stats")

    def test_version_and_help(self):
        with Harness() as h:
            p = genrectl("-s", h.path, "version")
            self.assertEqual(p.stdout, "genred %s (protocol 1)\ngenrectl %s\n" % (VERSION, VERSION))
            p = genrectl("-s", h.path, "help")
            self.assertEqual(p.stdout, "commands: " + " ".join(COMMANDS) + "\n")
            p = genrectl("-s", h.path, "--json", "version")
            self.assertEqual(json.loads(p.stdout)["protocol"], 1)

    def test_socket_from_environment(self):
        with Harness() as h:
            p = genrectl("version", env={"GENRED_SOCKET": h.path})
            self.assertEqual(p.returncode, 0, p.stderr)
            p = genrectl("version", env={"GENRED_SOCKET": "/nonexistent/x.sock"})
            self.assertIn("/nonexistent/x.sock", p.stderr)

    def test_missing_socket(self):
        p = genrectl("--socket", "/nonexistent/genred.sock", "status")
        self.assertEqual(p.returncode, 3)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr, "genrectl: cannot connect to /nonexistent/genred.sock: "
                                   "No such file or directory (is genred running?)\n")

    def test_default_socket_path(self):
        p = genrectl("--timeout", "1", "status")
        # Either a daemon answers there, or the error names the default path.
        self.assertTrue(p.returncode != 3 or "/run/genred/genred.sock" in p.stderr, p.stderr)

    def test_daemon_error_exits_1(self):
        with Harness("--status-fails") as h:
            p = genrectl("-s", h.path, "status")
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "genrectl: daemon error: status unavailable\n")
        with Harness("--max-clients", "1") as h:
            hold = Client(h.path)
            p = genrectl("-s", h.path, "status")
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "genrectl: daemon error: too many clients (limit 1)\n")
            hold.close()

    def test_timeout(self):
        d = tempfile.mkdtemp(prefix="genred-proto-")
        path = os.path.join(d, "silent.sock")
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(path)
        silent.listen(4)        # never accepts, never greets
        t0 = time.monotonic()
        p = genrectl("-s", path, "--timeout", "0.5", "status")
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 1)
        self.assertIn("no reply from daemon within 0.5 s", p.stderr)
        self.assertLess(elapsed, 5)
        silent.close()
        os.unlink(path)
        os.rmdir(d)

    def test_usage_errors(self):
        for args in ([], ["unwatch"], ["bogus"], ["--timeout", "x", "status"],
                     ["--timeout", "-1", "status"], ["status", "extra"]):
            p = genrectl(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("genrectl", p.stderr)

    def _watch(self, h, *extra):
        return subprocess.Popen([GENRECTL, "-s", h.path] + list(extra) + ["watch"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_watch_readable_lines_flushed(self):
        with Harness("--interval-ms", "20", "--change-every", "2") as h:
            w = self._watch(h)
            lines = [w.stdout.readline() for _ in range(8)]
            w.send_signal(signal.SIGINT)
            self.assertEqual(w.wait(timeout=10), 0)
            kinds = set()
            for line in lines:
                if " change " in line:
                    self.assertRegex(line, r"^\d\d:\d\d:\d\d change (\w+|-) -> \w+ \(ok\) 55% seq \d+\n$")
                    kinds.add("change")
                else:
                    self.assertRegex(line, r"^\d\d:\d\d:\d\d " + RESULT_LINE + "\n$")
                    kinds.add("result")
            self.assertEqual(kinds, {"change", "result"})
            w.stdout.close()
            w.stderr.close()

    def test_watch_json_and_daemon_exit(self):
        with Harness("--interval-ms", "20") as h:
            w = self._watch(h, "--json")
            objs = [json.loads(w.stdout.readline()) for _ in range(3)]
            for o in objs:
                self.assertIn(o["type"], ("result", "change"))
            h.stop()
            out, err = w.communicate(timeout=10)
            self.assertEqual(w.returncode, 1)
            self.assertIn("connection closed by daemon", err)


if __name__ == "__main__":
    if not os.access(HARNESS, os.X_OK) or not os.access(GENRECTL, os.X_OK) or not VERSION:
        sys.exit("set GENRED_HARNESS and GENRECTL to the built executables, GENRED_VERSION to "
                 "meson's project version")
    unittest.main(verbosity=2)
