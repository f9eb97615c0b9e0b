#!/usr/bin/env python3
"""tty-prompt.py KEY CMD...: runs CMD on a pseudo-terminal, types KEY and
Enter once CMD asks for it, and prints what the terminal showed (the
prompt, no echo of the key) and CMD's exit status on the last line."""
import os
import pty
import select
import signal
import sys
import time

key, argv = sys.argv[1].encode(), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

shown = b""
typed = False
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        shown += data
    if not typed and b"(not shown): " in shown:
        os.write(fd, key + b"\n")
        typed = True
done, status = os.waitpid(pid, os.WNOHANG)
for _ in range(50):  # it may be just closing down
    if done != 0:
        break
    time.sleep(0.1)
    done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:  # still waiting for input after 30 s: a failure, not a hang
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
print(f"\nstatus={os.waitstatus_to_exitcode(status)}")
