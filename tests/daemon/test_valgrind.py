#!/usr/bin/python3
"""genred under valgrind's memcheck (suite `valgrind`).

The real daemon in file-source demo mode, for about 20 s, with a watching
client, status and stats requests, a SIGHUP reload to another model (the
old one is freed), a refused reload (a corrupt model: the error path) and
SIGTERM.  It must exit 0 with no memcheck error and no definitely lost
block: valgrind runs with --error-exitcode=99 and
--errors-for-leak-kinds=definite.  No suppressions are needed at present;
if a third-party library ever needs one, put it in a commented .supp file
next to this one and pass it with --suppressions.

Not for sanitizer builds (meson.build only defines it when b_sanitize is
none).  Environment as for test_daemon.py: GENRED, GENRECTL, SOURCE_ROOT,
GENRE_DATA.
"""
import os
import re
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from daemon_harness import (GENRED, TempDirTest, base_config, excerpt_wav, exit_status,  # noqa: E402
                         random_model, test_model, wait_for)

INTERVAL = 0.5
RUN_SECONDS = 25.0


class ValgrindTests(TempDirTest):
    def test_memcheck_clean(self):
        valgrind = shutil.which("valgrind")
        self.assertIsNotNone(valgrind, "valgrind is not installed (apt-get install valgrind)")
        vg_log = os.path.join(self.dir, "valgrind.log")

        def under_valgrind(cmd):
            return [valgrind, "--tool=memcheck", "--leak-check=full",
                    "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                    "--log-file=" + vg_log] + cmd

        model = test_model(self.dir)
        other = random_model(os.path.join(self.dir, "other.gmdl"), seed=2)
        wav = excerpt_wav(os.path.join(self.dir, "clip.wav"), 4.0)
        source = "source = file\nfile = %s\nloop = yes" % wav
        started = time.monotonic()
        # Slower start under valgrind: start() waits up to 15 s for an answer.
        d = self.start(base_config(model, source, interval=INTERVAL), wrap=under_valgrind)

        # The 10-second window fills (in real time, valgrind or not) and
        # is classified; a watcher meanwhile gets every result.
        objects = d.watch(4.0)
        results = [o for o in objects if o["type"] == "result"]
        self.assertGreaterEqual(len(results), 4, d.output())
        # One run of the shipped network takes several seconds under
        # memcheck, and valgrind runs one thread at a time, so the main
        # loop's answers can take that long too: requests here get 30 s.
        slow = 30.0
        self.assertTrue(wait_for(lambda: d.request("status", slow)["state"] == "ok", 60), d.output())
        st = d.request("stats", slow)
        self.assertGreater(st["inferences"], 0)

        # Reload to another (small, faster) model: the old model and its
        # network are freed.
        with open(d.conf, "w") as f:
            f.write(base_config(other, source, interval=INTERVAL))
        d.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: d.request("stats", slow)["model"] == "other.gmdl", 60), d.output())
        # A corrupt model is refused; the running one stays.
        corrupt = os.path.join(self.dir, "corrupt.gmdl")
        with open(other, "rb") as f:
            image = bytearray(f.read())
        image[len(image) // 2] ^= 0x55
        with open(corrupt, "wb") as f:
            f.write(image)
        with open(d.conf, "w") as f:
            f.write(base_config(corrupt, source, interval=INTERVAL))
        d.signal(signal.SIGHUP)
        st = wait_for(lambda: (lambda s: s if s["last_reload_error"] else None)(d.request("stats", slow)), 60)
        self.assertIsNotNone(st, d.output())
        self.assertEqual(st["model"], "other.gmdl")
        remaining = RUN_SECONDS - (time.monotonic() - started)
        later = d.watch(max(2.0, remaining))
        self.assertTrue(any(o["type"] == "result" and o.get("model") == "other.gmdl"
                            for o in later), later[-2:])

        d.signal(signal.SIGTERM)
        rc = d.proc.wait(timeout=30)     # leak checking at exit takes a moment
        with open(vg_log) as f:
            report = f.read()
        print(re.sub(r"(?m)^==\d+== ?", "", report[report.find("HEAP SUMMARY"):]),
              file=sys.stderr)
        self.assertEqual(rc, 0, "exit %d (99: valgrind found errors)\n%s" % (rc, report))
        self.assertRegex(report, r"ERROR SUMMARY: 0 errors")
        self.assertRegex(report, r"definitely lost: 0 bytes|All heap blocks were freed")
        self.assertFalse(os.path.exists(d.sock), "socket left behind")


if __name__ == "__main__":
    if not GENRED or not os.access(GENRED, os.X_OK):
        sys.exit("set GENRED to the built genred")
    sys.exit(exit_status(unittest.TextTestRunner(verbosity=2).run(
        unittest.TestLoader().loadTestsFromTestCase(ValgrindTests))))
