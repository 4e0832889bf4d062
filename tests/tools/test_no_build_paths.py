#!/usr/bin/python3
"""Installed programs must not carry the source or build tree's path (suite
`cli`): a fallback model path into the checkout was once compiled in, shown
in --help and used silently when the installed model was missing.  Looks
for the paths' bytes anywhere in each executable (a debug build's DWARF
names its directories, so meson.build runs this only without debug info).

usage: test_no_build_paths.py SOURCE_ROOT BUILD_ROOT PROGRAM...
"""
import os
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    roots = [os.path.realpath(r).encode() for r in sys.argv[1:3]]
    failures = 0
    for exe in sys.argv[3:]:
        with open(exe, "rb") as f:
            data = f.read()
        found = [r.decode() for r in roots if r in data]
        ok = len(data) > 0 and not found
        print(("ok   " if ok else "FAIL ") + f"{os.path.basename(exe)} ({len(data)} bytes) "
              + (f"contains {found}" if found else "names neither tree"))
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
