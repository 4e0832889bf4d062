#!/usr/bin/python3
"""Manual pages and --help cannot drift apart (suite `cli`): for each
program, every option its --help names (long and short) appears in its
manual page, and every option the page's OPTIONS section describes is in
--help.  The page must also say what each exit status 0, 1 and 2 means,
and its title line carry meson's project version (filled in by
man/meson.build).

usage: test_man_options.py VERSION PROGRAM=MANPAGE...
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checklist import check, summary  # noqa: E402


LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT = re.compile(r"(?<![\w-])-[a-zA-Z](?=[ ,\n])")




def roff_text(path):
    """The page's text with roff's escaped hyphens, font changes and
    zero-width characters taken out, as a reader would see it."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return re.sub(r"\\f[BIRP]", "", text)


def section(text, name):
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH |\Z)" % re.escape(name), text, re.M | re.S)
    return m.group(1) if m else ""


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    version = sys.argv[1]
    pairs = [a.split("=", 1) for a in sys.argv[2:]]
    if any(len(p) != 2 for p in pairs):
        sys.exit(__doc__)
    for exe, page in pairs:
        name = os.path.basename(exe)
        p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and p.stdout, f"{name} --help")
        text = roff_text(page)
        title = text.split("\n", 1)[0]
        check(title.startswith(".TH ") and f'"genred {version}"' in title,
              f"{os.path.basename(page)} title names genred {version}: {title!r}")
        options_section = section(text, "OPTIONS")
        check(options_section != "", f"{os.path.basename(page)} has an OPTIONS section")
        # Words of the page, so that --hop does not pass by being part of --hop-x.
        page_longs = set(LONG.findall(text))
        help_longs = set(LONG.findall(p.stdout))
        help_shorts = set(SHORT.findall(p.stdout))
        check(len(help_longs) >= 2, f"{name} --help names its options: {sorted(help_longs)}")
        for opt in sorted(help_longs):
            check(opt in page_longs, f"{name} {opt} (in --help) is in {os.path.basename(page)}")
        for opt in sorted(help_shorts):
            check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), options_section) is not None,
                  f"{name} {opt} (in --help) is in the OPTIONS of {os.path.basename(page)}")
        for opt in sorted(set(LONG.findall(options_section))):
            check(opt in help_longs, f"{name} {opt} (in the page's OPTIONS) is in --help")
        status = section(text, "EXIT STATUS")
        for code in ("0", "1", "2"):
            check(re.search(r"(^\.B %s$|\b%s\b)" % (code, code), status, re.M) is not None,
                  f"{os.path.basename(page)} EXIT STATUS explains {code}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
