#!/usr/bin/python3
"""Run a command under the system call filter that genred.service's
SystemCallFilter= lines give, without systemd: the unit's filter is
rebuilt the way systemd builds it (systemd.exec(5)) and loaded through
libseccomp (ctypes; libseccomp2 is always there, apt depends on it).

  seccomp_exec.py UNIT -- COMMAND [ARG]...      run COMMAND under the filter
  seccomp_exec.py UNIT --list                   print the allowed calls

systemd's rules: the first SystemCallFilter= line decides the mode (here an
allow list, to which @default is added); each later line adds its calls
(no "~") or removes them ("~"), in order; every call outside the final
set fails with SystemCallErrorNumber= (EPERM).  Groups are expanded with
`systemd-analyze syscall-filter`, which prints each group's calls and the
groups it includes."""
import ctypes
import errno
import os
import subprocess
import sys


def groups():
    """{"@name": [member, ...]} from systemd-analyze (members may be groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         capture_output=True, text=True, check=True).stdout
    table, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = table.setdefault(line.strip(), [])
        elif current is not None and line.startswith("    ") and not line.strip().startswith("#"):
            current.append(line.strip())
    return table


def expand(names, table, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if name.startswith("@"):
            if name in seen:
                continue
            seen.add(name)
            if name not in table:
                raise SystemExit("seccomp_exec: unknown group %s" % name)
            calls |= expand(table[name], table, seen)
        elif name:
            calls.add(name.split(":")[0])
    return calls


def allowed_calls(unit):
    """The set of calls the unit's SystemCallFilter= lines allow."""
    table = groups()
    allowed, allow_list = set(), None
    with open(unit) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            invert = value.startswith("~")
            names = value.lstrip("~").split()
            if allow_list is None:
                if invert:
                    raise SystemExit("seccomp_exec: deny-list units are not supported")
                allow_list = True
                allowed |= expand(["@default"], table)
            calls = expand(names, table)
            if invert:
                allowed -= calls
            else:
                allowed |= calls
    if allow_list is None:
        raise SystemExit("seccomp_exec: %s has no SystemCallFilter=" % unit)
    return allowed


def load_filter(calls):
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                     ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    SCMP_ACT_ALLOW = 0x7fff0000
    SCMP_ACT_ERRNO = 0x00050000 | errno.EPERM
    ctx = lib.seccomp_init(SCMP_ACT_ERRNO)
    if not ctx:
        raise SystemExit("seccomp_exec: seccomp_init failed")
    for name in sorted(calls):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:      # not a call of this architecture (e.g. chown32 on x86-64)
            continue
        rc = lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)
        if rc < 0:
            raise SystemExit("seccomp_exec: cannot allow %s: %s" % (name, os.strerror(-rc)))
    rc = lib.seccomp_load(ctx)
    if rc < 0:
        raise SystemExit("seccomp_exec: seccomp_load: %s" % os.strerror(-rc))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    unit = sys.argv[1]
    calls = allowed_calls(unit)
    if sys.argv[2] == "--list":
        print("\n".join(sorted(calls)))
        return
    if sys.argv[2] != "--" or len(sys.argv) < 4:
        raise SystemExit(__doc__)
    load_filter(calls)
    os.execvp(sys.argv[3], sys.argv[3:])


if __name__ == "__main__":
    main()
