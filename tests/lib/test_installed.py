#!/usr/bin/python3
"""The installed libgenre, as another program uses it (test `test_installed`).

Installs the build into a temporary DESTDIR, then, against that tree only:
  * every installed header compiles on its own (no header needs one that is
    not installed), and genre/genre.h includes them all;
  * the shared library is libgenre.so.0 (its soname), exports exactly the
    functions the installed headers declare (version node GENRE_0), and
    nothing else;
  * pkg-config finds it (genre.pc);
  * examples/classify.c builds with `pkg-config --cflags --libs genre`, links
    the installed libgenre.so.0 (not a static copy), and its windows equal
    genre-classify's on the same file (genre, confidence within 1e-5).

  installed_lib_test.py BUILD_DIR SOURCE_ROOT GENRE_CLASSIFY MODEL AUDIO WORKDIR [SANITIZE]

SANITIZE is the build's b_sanitize: a sanitized library needs the example
built with the same sanitizers (their runtime must come first).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "lib"))
import export_map  # noqa: E402



def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    build, source, classify, model, audio, work = sys.argv[1:7]
    sanitize = sys.argv[7] if len(sys.argv) > 7 else "none"
    san_flags = ["-fsanitize=" + sanitize] if sanitize not in ("", "none") else []
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    dest = os.path.join(work, "root")
    r = run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        return 1
    pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "genre.pc"), recursive=True)
    check(len(pcs) == 1, "genre.pc installed", pcs)
    if not pcs:
        return 1
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]), PKG_CONFIG_SYSROOT_DIR=dest)
    cflags = run(["pkg-config", "--cflags", "genre"], env=env).stdout.split()
    libs = run(["pkg-config", "--libs", "genre"], env=env).stdout.split()
    check(any(f.startswith("-I" + dest) for f in cflags) and "-lgenre" in libs,
          "pkg-config --cflags --libs genre point into the installed tree", (cflags, libs))
    incdir = [f[2:] for f in cflags if f.startswith("-I")][0]
    headers = sorted(glob.glob(os.path.join(incdir, "genre", "*.h")))
    names = [os.path.basename(h) for h in headers]
    check("genre.h" in names and len(names) >= 5, "public headers installed: %s" % names)
    for h in headers:
        r = run(["cc", "-std=c17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", incdir,
                 "-x", "c", "-"], input='#include "genre/%s"\n' % os.path.basename(h))
        check(r.returncode == 0, "genre/%s compiles on its own" % os.path.basename(h), r.stderr)
    with open(os.path.join(incdir, "genre", "genre.h")) as f:
        umbrella = f.read()
    missing = [n for n in names if n != "genre.h" and '#include "genre/%s"' % n not in umbrella]
    check(not missing, "genre.h includes every public header", missing)
    for n in ("inspect.h", "json.h", "graph.h", "net.h", "pipeline.h"):
        check(n not in names, "internal header %s not installed" % n)

    sos = glob.glob(os.path.join(dest, "**", "libgenre.so.0.*"), recursive=True)
    check(len(sos) == 1, "libgenre.so.0.x installed", sos)
    so = sos[0]
    soname = re.findall(r"SONAME.*\[(.*)\]", run(["readelf", "-d", so]).stdout)
    check(soname == ["libgenre.so.0"], "soname libgenre.so.0", soname)
    exported = run(["nm", "-D", "--defined-only", so]).stdout.split("\n")
    exported = sorted({line.split()[-1].split("@")[0] for line in exported
                       if line.strip() and line.split()[1] in "TW"})
    declared = export_map.public_functions(headers)
    check(exported == declared, "exports exactly the %d functions the headers declare"
          % len(declared), {"not declared": sorted(set(exported) - set(declared)),
                             "not exported": sorted(set(declared) - set(exported))})

    exe = os.path.join(work, "classify")
    r = run(["cc", "-std=c17", "-Wall", "-Wextra", "-Werror",
             os.path.join(source, "examples", "classify.c"), "-o", exe] + san_flags + cflags + libs)
    check(r.returncode == 0, "examples/classify.c builds against the installed library",
          r.stderr)
    if r.returncode != 0:
        return 1
    needed = re.findall(r"NEEDED.*\[(.*)\]", run(["readelf", "-d", exe]).stdout)
    check("libgenre.so.0" in needed, "the example links libgenre.so.0", needed)
    env_run = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(so))
    ldd = run(["ldd", exe], env=env_run).stdout
    check(os.path.dirname(so) in ldd, "and loads the installed one", ldd)
    r = run([exe, model, audio], env=env_run, timeout=300)
    check(r.returncode == 0, "the example classifies %s" % os.path.basename(audio),
          r.stdout + r.stderr)
    rows = [line.split() for line in r.stdout.splitlines() if not line.startswith("file:")]
    ref = json.loads(run([classify, "--json", "--model", model, audio]).stdout.splitlines()[0])
    windows = ref["windows"]
    same = len(rows) == len(windows) and all(
        row[2] == w["genre"] and abs(float(row[3]) - w["confidence"]) < 1e-3 + 1e-5
        and abs(float(row[0]) - w["start"]) < 1e-3 for row, w in zip(rows, windows))
    check(same, "its %d windows equal genre-classify's (genre, confidence, start)" % len(rows),
          (r.stdout[:1500], [(w["start"], w["genre"], w["confidence"]) for w in windows][:10]))
    last = (r.stdout.splitlines() or [""])[-1].split()
    check(last[:2] == ["file:", ref["genre"]], "the file's genre equals genre-classify's (%s)"
          % ref["genre"], last)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
