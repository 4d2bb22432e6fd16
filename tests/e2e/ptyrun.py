#!/usr/bin/env python3
"""ptyrun.py CMD ARG...: runs CMD under a pseudo-terminal (test-only) and prints what it wrote
to it, stdout and stderr together, as a terminal would have shown them."""
import os, pty, sys

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    out += b
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
