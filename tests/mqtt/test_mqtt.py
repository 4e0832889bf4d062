#!/usr/bin/python3
"""End-to-end tests of genred-mqtt against a real Mosquitto broker on
loopback (suite `mqtt`; doc/mqtt.md).

  FleetTests      three genred instances with different inputs and device
                  ids, a bridge each, one subscriber: states, availability
                  and Home Assistant discovery arrive; the broker restarts
                  and every bridge comes back; a killed genred goes offline
                  at once, a killed bridge through its last will; SIGTERM
                  publishes offline and exits 0
  CredentialTests a broker with a password file: wrong credentials give a
                  clear error and exit status 3, right ones connect; the
                  password never appears in the log
  ValgrindTests   the bridge under memcheck (suite valgrind)
  TlsTests        a TLS broker requiring client certificates: the right CA
                  and certificate connect, a wrong CA is refused with
                  OpenSSL's reason and retried, a missing CA file exits 1
  GenredFaultTests a genred socket that does not exist yet, that sends a
                  line that is not JSON, or a line too long: each logged
                  once, retried with backoff, the bridge keeps working

Environment: GENRED, GENRECTL, GENRE_CLASSIFY, GENRED_MQTT (executables),
SOURCE_ROOT.  Needs mosquitto, mosquitto_sub and mosquitto_passwd (Debian
mosquitto, mosquitto-clients; ./dev installs them).
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from daemon_harness import Daemon, base_config, test_model, wait_for, write_wav  # noqa: E402

BRIDGE = os.environ.get("GENRED_MQTT", "")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
KEEPALIVE = 5
SANITIZED = bool(os.environ.get("GENRED_SANITIZED"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port, without persistence (a restart loses
    every retained message, so what arrives after it was republished)."""

    def __init__(self, directory, port, passwords=None, tls=None):
        self.dir, self.port = directory, port
        self.conf = os.path.join(directory, "mosquitto-%d.conf" % port)
        # As root, mosquitto would switch to its own user, which cannot read
        # the test's private directory.
        lines = ["listener %d 127.0.0.1" % port, "persistence false",
                 "user " + pwd.getpwuid(os.getuid()).pw_name]
        if passwords:
            pwfile = os.path.join(directory, "passwd-%d" % port)
            for i, (user, password) in enumerate(passwords.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) +
                               [pwfile, user, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", "password_file " + pwfile]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += ["cafile " + tls["ca"], "certfile " + tls["cert"], "keyfile " + tls["key"],
                      "require_certificate true"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "mosquitto-%d.log" % self.port), "a")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_for(self._listening, 10):
            raise AssertionError("mosquitto did not come up")

    def _listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


class Subscriber:
    """mosquitto_sub on '#': every message with its arrival time."""

    def __init__(self, port):
        self.messages = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port),
                                      "-t", "#", "-F", "%t %p", "-q", "1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            topic, _, payload = line.partition(" ")
            with self.lock:
                self.messages.append((time.monotonic(), topic, payload))

    def last(self, topic, since=0.0):
        with self.lock:
            for t, top, payload in reversed(self.messages):
                if top == topic and t >= since:
                    return payload
        return None

    def wait(self, topic, predicate=lambda p: True, since=0.0, timeout=15.0):
        """The first payload on topic (arrived at or after `since`) that
        satisfies predicate, or None."""
        def find():
            with self.lock:
                for t, top, payload in self.messages:
                    if top == topic and t >= since and predicate(payload):
                        return payload
            return None
        return wait_for(find, timeout)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


class Bridge:
    def __init__(self, directory, name, port, listeners, extra="", wrap=None):
        self.conf = os.path.join(directory, "%s.conf" % name)
        text = ("[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = %s\nkeepalive = %d\n"
                "heartbeat = 3\n%s" % (port, name, KEEPALIVE, extra))
        for device, sock in listeners:
            text += "[listener %s]\nsocket = %s\nname = Room %s\n" % (device, sock, device)
        with open(self.conf, "w") as f:
            f.write(text)
        self.logpath = os.path.join(directory, "%s.log" % name)
        self.log = open(self.logpath, "w")
        cmd = [BRIDGE, "-c", self.conf, "--log-level", "debug"]
        self.proc = subprocess.Popen(wrap(cmd) if wrap else cmd,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def lines(self, fragment, level="warning"):
        return [ln for ln in self.output().splitlines()
                if fragment in ln and (level is None or (": %s: " % level) in ln)]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def is_json_with(**members):
    def check(payload):
        try:
            obj = json.loads(payload)
        except ValueError:
            return False
        return all(obj.get(k) == v for k, v in members.items())
    return check


class MqttTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="genred-mqtt-")
        self.cleanup = []

    def tearDown(self):
        for c in reversed(self.cleanup):
            try:
                c()
            except Exception:  # noqa: BLE001 -- cleanup goes on
                pass
        if os.environ.get("GENRED_TEST_VERBOSE"):
            for name in sorted(os.listdir(self.dir)):
                if name.endswith(".log"):
                    with open(os.path.join(self.dir, name), errors="replace") as f:
                        print("---- %s ----\n%s" % (name, f.read()), file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def broker(self, port, **kw):
        b = Broker(self.dir, port, **kw)
        self.cleanup.append(b.stop)
        return b

    def subscriber(self, port):
        s = Subscriber(port)
        self.cleanup.append(s.stop)
        return s

    def bridge(self, name, port, listeners, extra="", wrap=None):
        b = Bridge(self.dir, name, port, listeners, extra, wrap)
        self.cleanup.append(b.close)
        return b

    def genred(self, name, audio):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        daemon = Daemon(d, base_config(test_model(d), "source = file\nfile = %s\nloop = yes" % audio,
                                       interval=0.5))
        self.cleanup.append(daemon.close)
        return daemon


def input_wavs(directory):
    """Three different inputs: the bundled demo, digital silence, noise."""
    rate = 16000
    t = np.arange(rate * 12) / rate
    demo = os.path.join(directory, "tones.wav")
    write_wav(demo, 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2, rate)
    silence = os.path.join(directory, "silence.wav")
    write_wav(silence, np.zeros_like(t), rate)
    noise = os.path.join(directory, "noise.wav")
    write_wav(noise, 0.2 * np.random.default_rng(1).standard_normal(t.size).clip(-1, 1), rate)
    return {"den": demo, "kitchen": silence, "radio": noise}


class FleetTests(MqttTest):
    def test_fleet(self):
        port = free_port()
        broker = self.broker(port)
        sub = self.subscriber(port)
        inputs = input_wavs(self.dir)
        daemons = {dev: self.genred(dev, wav) for dev, wav in inputs.items()}
        bridges = {dev: self.bridge("bridge-" + dev, port, [(dev, d.sock)])
                   for dev, d in daemons.items()}

        # Every instance: discovery, a state naming its device, online.
        for dev in inputs:
            cfg = sub.wait("homeassistant/sensor/genred_%s/genre/config" % dev,
                           is_json_with(state_topic="genred/%s/state" % dev))
            self.assertIsNotNone(cfg, "no discovery for %s:\n%s" % (dev, bridges[dev].output()))
            cfg = json.loads(cfg)
            self.assertEqual(cfg["device"]["name"], "Room %s" % dev)
            self.assertEqual([a["topic"] for a in cfg["availability"]],
                             ["genred/bridge/bridge-%s/availability" % dev,
                              "genred/%s/availability" % dev])
            self.assertIsNotNone(sub.wait("genred/%s/state" % dev, is_json_with(device=dev)))
            self.assertIsNotNone(sub.wait("genred/%s/availability" % dev, lambda p: p == "online"))
            self.assertIsNotNone(sub.wait("genred/bridge/bridge-%s/availability" % dev,
                                          lambda p: p == "online"))
        # The silent input is reported as silence, the others with a genre,
        # once the first window is full (10 s of audio).
        self.assertIsNotNone(sub.wait("genred/kitchen/state", is_json_with(state="silence"),
                                      timeout=20))
        den = sub.wait("genred/den/state",
                       lambda p: json.loads(p)["state"] == "ok" and json.loads(p)["genre"],
                       timeout=20)
        self.assertIsNotNone(den, "den never got a genre")
        den = json.loads(den)
        self.assertAlmostEqual(sum(den["probabilities"].values()), 1.0, places=3)
        self.assertEqual(den["confidence"], den["probabilities"][den["genre"]])
        # The heartbeat republishes an unchanged state (every 3 s here).
        t0 = time.monotonic()
        self.assertIsNotNone(sub.wait("genred/kitchen/state", is_json_with(state="silence"),
                                      since=t0, timeout=6))

        # The broker restarts (losing every retained message): every bridge
        # comes back and republishes; failed attempts are logged once.
        broker.stop()
        sub.stop()
        time.sleep(4)
        broker.start()
        t_up = time.monotonic()
        sub = self.subscriber(port)
        for dev in inputs:
            self.assertIsNotNone(sub.wait("genred/%s/availability" % dev, lambda p: p == "online",
                                          timeout=20),
                                 "%s did not come back:\n%s" % (dev, bridges[dev].output()))
            self.assertIsNotNone(sub.wait("genred/%s/state" % dev, is_json_with(device=dev)))
            self.assertIsNotNone(sub.wait("homeassistant/sensor/genred_%s/genre/config" % dev))
            log = bridges[dev].output()
            self.assertIn("reconnecting", log)
            self.assertLessEqual(len(bridges[dev].lines("cannot connect")), 1, log)
        print("bridges back %.1f s after the broker" % (time.monotonic() - t_up))

        # A killed genred goes offline at once (well within the keep-alive),
        # and no state is published for it while it is gone.
        t_kill = time.monotonic()
        daemons["radio"].proc.kill()
        daemons["radio"].proc.wait()
        self.assertIsNotNone(sub.wait("genred/radio/availability", lambda p: p == "offline",
                                      since=t_kill, timeout=KEEPALIVE))
        took = time.monotonic() - t_kill
        print("radio offline %.2f s after genred was killed" % took)
        time.sleep(3.5)     # longer than the heartbeat
        t_gone = time.monotonic()
        time.sleep(3.5)
        self.assertIsNone(sub.last("genred/radio/state", since=t_gone))
        self.assertEqual(bridges["radio"].proc.poll(), None, "the bridge must keep running")

        # A killed bridge: the broker publishes its last will.
        t_kill = time.monotonic()
        bridges["den"].proc.kill()
        self.assertIsNotNone(sub.wait("genred/bridge/bridge-den/availability",
                                      lambda p: p == "offline", since=t_kill,
                                      timeout=KEEPALIVE * 1.5 + 3))
        print("bridge-den offline %.1f s after it was killed (keep-alive %d s)" %
              (time.monotonic() - t_kill, KEEPALIVE))

        # SIGTERM: offline for the listener and the bridge, exit 0.
        t_stop = time.monotonic()
        bridges["kitchen"].proc.send_signal(signal.SIGTERM)
        self.assertEqual(bridges["kitchen"].proc.wait(timeout=5), 0, bridges["kitchen"].output())
        self.assertIsNotNone(sub.wait("genred/kitchen/availability", lambda p: p == "offline",
                                      since=t_stop, timeout=3))
        self.assertIsNotNone(sub.wait("genred/bridge/bridge-kitchen/availability",
                                      lambda p: p == "offline", since=t_stop, timeout=3))
        # The broker saw a clean DISCONNECT (no last will sent for it).
        with open(broker.log.name, errors="replace") as f:
            self.assertNotIn("bridge-kitchen disconnected due to", f.read())
        for d in daemons.values():
            if d.proc.poll() is None:
                d.stop(self, within=5)


class CredentialTests(MqttTest):
    def test_bad_and_good_credentials(self):
        port = free_port()
        self.broker(port, passwords={"genred": "right horse"})
        inputs = input_wavs(self.dir)
        daemon = self.genred("den", inputs["den"])
        pw = os.path.join(self.dir, "pw-wrong")
        with open(pw, "w") as f:
            f.write("battery staple\n")
        bad = self.bridge("bad", port, [("den", daemon.sock)],
                          "username = genred\npassword_file = %s\n" % pw)
        rc = bad.proc.wait(timeout=15)
        log = bad.output()
        self.assertEqual(rc, 3, log)
        self.assertIn("refused the connection", log)
        self.assertIn("username and password_file", log)
        self.assertNotIn("battery staple", log)
        # No user name at all: also refused (anonymous is off).
        anon = self.bridge("anon", port, [("den", daemon.sock)])
        self.assertEqual(anon.proc.wait(timeout=15), 3, anon.output())

        with open(pw, "w") as f:
            f.write("right horse\n")
        good = self.bridge("good", port, [("den", daemon.sock)],
                           "username = genred\npassword_file = %s\n" % pw)
        self.assertTrue(wait_for(lambda: "connected to broker" in good.output(), 15),
                        good.output())
        self.assertIsNone(good.proc.poll())
        self.assertNotIn("right horse", good.output())
        # An unreadable password file is a failure at start (exit 1).
        broken = self.bridge("broken", port, [("den", daemon.sock)],
                             "username = genred\npassword_file = %s/missing\n" % self.dir)
        self.assertEqual(broken.proc.wait(timeout=10), 1)
        self.assertIn("password_file", broken.output())


def make_pki(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate
    signed by it, and a second CA that signed nothing (openssl CLI)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True, capture_output=True)
    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out",
            ca + ".pem", "-days", "2", "-subj", "/CN=genred test " + ca)
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.ext"]), ("client", [])):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
            name + ".csr", "-subj", "/CN=" + ("127.0.0.1" if name == "server" else "bridge"))
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", *extra)
    return {k: os.path.join(directory, v) for k, v in
            (("ca", "ca.pem"), ("other", "other-ca.pem"), ("cert", "server.pem"),
             ("key", "server.key"), ("client_cert", "client.pem"),
             ("client_key", "client.key"))}


class TlsTests(MqttTest):
    def test_tls_with_client_certificate(self):
        pki = make_pki(self.dir)
        port = free_port()
        self.broker(port, tls=pki)
        daemon = self.genred("den", input_wavs(self.dir)["den"])
        good = self.bridge("good", port, [("den", daemon.sock)],
                           "ca_file = %s\ncert_file = %s\nkey_file = %s\n" %
                           (pki["ca"], pki["client_cert"], pki["client_key"]))
        self.assertTrue(wait_for(lambda: "connected to broker" in good.output(), 15),
                        good.output())
        # A broker certificate from another CA: refused by the bridge, with
        # OpenSSL's reason, logged once, retried (the bridge keeps running).
        wrong = self.bridge("wrong", port, [("den", daemon.sock)],
                            "ca_file = %s\ncert_file = %s\nkey_file = %s\n" %
                            (pki["other"], pki["client_cert"], pki["client_key"]))
        time.sleep(4)
        self.assertIsNone(wrong.proc.poll(), wrong.output())
        log = wrong.output()
        self.assertIn("certificate verify failed", log)
        self.assertNotIn("connected to broker", log)
        self.assertEqual(len(wrong.lines("certificate verify failed")), 1, log)
        # No client certificate where the broker requires one: not connected.
        anon = self.bridge("anon", port, [("den", daemon.sock)], "ca_file = %s\n" % pki["ca"])
        time.sleep(3)
        self.assertNotIn("connected to broker", anon.output())
        # An unreadable CA file is a failure at start: exit 1, named.
        missing = self.bridge("missing", port, [("den", daemon.sock)],
                              "ca_file = %s/nope.pem\n" % self.dir)
        self.assertEqual(missing.proc.wait(timeout=10), 1, missing.output())
        self.assertIn("nope.pem", missing.output())


class ValgrindTests(MqttTest):
    def test_memcheck_clean(self):
        """The bridge under memcheck through a broker restart, a genred that
        goes away and a clean stop: no error, no definite leak (exit 99
        otherwise)."""
        valgrind = shutil.which("valgrind")
        self.assertIsNotNone(valgrind, "valgrind is not installed (apt-get install valgrind)")
        vg_log = os.path.join(self.dir, "valgrind.log")
        port = free_port()
        broker = self.broker(port)
        sub = self.subscriber(port)
        daemon = self.genred("den", input_wavs(self.dir)["den"])
        bridge = self.bridge("vg", port, [("den", daemon.sock)], wrap=lambda cmd: [
            valgrind, "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--log-file=" + vg_log] + cmd)
        self.assertIsNotNone(sub.wait("genred/den/state", is_json_with(device="den"), timeout=30),
                             bridge.output())
        broker.stop()
        sub.stop()
        time.sleep(2)
        broker.start()
        sub = self.subscriber(port)
        self.assertIsNotNone(sub.wait("genred/den/availability", lambda p: p == "online",
                                      timeout=30), bridge.output())
        daemon.proc.kill()
        daemon.proc.wait()
        self.assertIsNotNone(sub.wait("genred/den/availability", lambda p: p == "offline",
                                      timeout=10))
        bridge.proc.send_signal(signal.SIGTERM)
        rc = bridge.proc.wait(timeout=30)
        with open(vg_log) as f:
            report = f.read()
        self.assertEqual(rc, 0, "exit %d (99: valgrind found errors)\n%s" % (rc, report[-4000:]))
        self.assertIn("ERROR SUMMARY: 0 errors", report)


class FakeGenred:
    """A UNIX socket server that greets like genred and then misbehaves:
    each connection gets hello, one good status, then `then` (bytes)."""

    def __init__(self, path, then):
        self.path, self.then = path, then
        self.connections = 0
        self.times = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.server.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        status = {"type": "status", "state": "ok", "seq": 1, "genre": "jazz", "confidence": 0.9,
                  "probabilities": {"jazz": 0.9, "rock": 0.1}, "model": "fake.gmdl"}
        while self.running:
            try:
                conn, _ = self.server.accept()
            except socket.timeout:
                continue
            self.connections += 1
            self.times.append(time.monotonic())
            with conn:
                conn.sendall(b'{"type":"hello","server":"genred","version":"0","protocol":1}\n' +
                             json.dumps(status).encode() + b"\n")
                time.sleep(0.2)
                try:
                    conn.sendall(self.then)
                except OSError:
                    pass
                time.sleep(0.2)

    def stop(self):
        self.running = False
        self.thread.join()
        self.server.close()


class GenredFaultTests(MqttTest):
    def rss_kib(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_socket_appears_later_and_misbehaves(self):
        port = free_port()
        self.broker(port)
        sub = self.subscriber(port)
        sock = os.path.join(self.dir, "g.sock")
        bridge = self.bridge("b", port, [("den", sock)])
        # No socket yet: logged once, retried.
        time.sleep(2.5)
        self.assertEqual(len(bridge.lines("cannot connect to genred")), 1, bridge.output())
        self.assertIsNotNone(sub.wait("genred/den/availability", lambda p: p == "offline",
                                      timeout=1))

        # A genred that sends a line that is not JSON after a good status.
        fake = FakeGenred(sock, b"this is not json\n")
        self.cleanup.append(fake.stop)
        self.assertTrue(wait_for(lambda: fake.connections >= 3, 20), bridge.output())
        self.assertEqual(len(bridge.lines("not a protocol object")), 1, bridge.output())
        self.assertIsNotNone(sub.wait("genred/den/state", is_json_with(genre="jazz")))
        self.assertIsNotNone(sub.wait("genred/den/availability", lambda p: p == "offline"))

        self.assertIsNone(bridge.proc.poll())

    def test_line_too_long(self):
        port = free_port()
        self.broker(port)
        sock = os.path.join(self.dir, "g.sock")
        # A line longer than the bridge takes (256 KiB): logged once,
        # dropped, memory stays flat, the backoff grows.
        fake = FakeGenred(sock, b"{" + b"x" * (400 * 1024))
        self.cleanup.append(fake.stop)
        bridge = self.bridge("b", port, [("den", sock)])
        self.assertTrue(wait_for(lambda: fake.connections >= 2, 20), bridge.output())
        rss = self.rss_kib(bridge.proc.pid)
        self.assertTrue(wait_for(lambda: fake.connections >= 4, 40), bridge.output())
        self.assertEqual(len(bridge.lines("longer than")), 1, bridge.output())
        grown = self.rss_kib(bridge.proc.pid) - rss
        if SANITIZED:
            print("sanitizer build: RSS not checked (ASan's quarantine holds freed memory)",
                  file=sys.stderr)
        else:
            self.assertLess(grown, 1024, "RSS grew by %d KiB over two oversized lines" % grown)
        self.assertIsNone(bridge.proc.poll())
        gaps = np.diff(fake.times)
        self.assertGreater(gaps[-1], gaps[0] + 0.5, "no backoff: %s" % gaps)


if __name__ == "__main__":
    for exe in (os.environ.get("GENRED"), BRIDGE):
        if not exe or not os.access(exe, os.X_OK):
            sys.exit("set GENRED and GENRED_MQTT to the built executables")
    for tool in (MOSQUITTO, "mosquitto_sub", "mosquitto_passwd"):
        if not shutil.which(tool):
            sys.exit("%s is missing: install Debian's mosquitto and mosquitto-clients "
                     "(./dev deps)" % tool)
    groups = sys.argv[1:] or ["FleetTests", "CredentialTests", "TlsTests", "GenredFaultTests"]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for g in groups:
        suite.addTests(loader.loadTestsFromTestCase(globals()[g]))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
