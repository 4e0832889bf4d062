#!/usr/bin/python3
"""The command-line conventions every genred program shares (suite `cli`):
-h/--help prints a usage text on stdout and exits 0, -V/--version prints
"NAME VERSION" with meson's project version and exits 0, and a usage error
(an unknown option, a missing or extra argument) exits 2 with a message on
stderr and nothing on stdout.

usage: test_cli.py VERSION PROGRAM...
Each PROGRAM is the path of a built executable; its name is the file name.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402


# Command lines that are usage errors for each program, beyond an unknown
# option: a missing required argument or an argument too many.
USAGE_ERRORS = {
    "genred": [["unexpected-argument"], ["--loop"], ["--log-level", "loud"]],
    "genrectl": [[], ["status", "extra"], ["--timeout", "x", "status"]],
    "genre-classify": [[], ["--jobs", "0", "a.wav"]],
    "genre-features": [[], ["manifest.csv"], ["--jobs", "0", "manifest.csv", "out"]],
    "genred-mqtt": [["unexpected-argument"], ["--log-level", "loud"]],
}




def run(exe, args):
    # No daemon socket in the environment: genrectl must not reach a real one.
    env = dict(os.environ, GENRED_SOCKET="/nonexistent/genred.sock")
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=30, env=env,
                          stdin=subprocess.DEVNULL)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    version, programs = sys.argv[1], sys.argv[2:]
    for exe in programs:
        name = os.path.basename(exe)
        check(name in USAGE_ERRORS, f"{name}: known to this test")
        for flag in ("-V", "--version"):
            p = run(exe, [flag])
            check(p.returncode == 0 and p.stdout == f"{name} {version}\n",
                  f"{name} {flag}: exit {p.returncode}, {p.stdout!r} (want '{name} {version}')")
        for flag in ("-h", "--help"):
            p = run(exe, [flag])
            check(p.returncode == 0 and p.stdout.lower().startswith("usage: " + name)
                  and "--version" in p.stdout and "--help" in p.stdout,
                  f"{name} {flag}: exit {p.returncode}, usage on stdout naming -V and -h")
        for args in [["--no-such-option"]] + USAGE_ERRORS.get(name, []):
            p = run(exe, args)
            check(p.returncode == 2 and p.stdout == "" and name in p.stderr,
                  f"{name} {' '.join(args) or '(no arguments)'}: exit {p.returncode} (want 2), "
                  f"stderr {p.stderr.strip()[:70]!r}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
