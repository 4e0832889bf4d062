"""The Python tests' checklist: check() prints "ok" or "FAIL" with what was
checked (and, on failure, the detail), keeps going, and summary() gives the
exit status, so one run shows every broken promise.  The Python
counterpart of tests/support/check.h.

    from checklist import check, summary
    check(x == 1, "x is one", x)
    sys.exit(summary())

A test that makes thousands of checks sets checklist.verbose = False: then
only failures are printed."""

failures = []
passes = 0
verbose = True


def check(ok, what, detail=""):
    global passes
    if ok:
        passes += 1
    if verbose or not ok:
        print("%s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        failures.append(what)
        if detail:
            print("     %s" % str(detail)[:3000])
    return ok


def summary():
    """Prints the counts; the exit status (0 when no check failed)."""
    print("%d check(s), %d failure(s)" % (passes + len(failures), len(failures)))
    return 1 if failures else 0
