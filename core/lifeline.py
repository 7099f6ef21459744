"""Child processes that never outlive the process that started them.

`cityloop run` owns a Temporal dev server, a worker and a web app. When it stops normally it
stops them itself; when it is killed (SIGKILL, OOM killer) nothing of it runs any more, so the
kernel has to do it: Linux's ``PR_SET_PDEATHSIG`` sends the child a signal when its parent
dies, and the setting survives ``exec``. It is set by this module run as a tiny launcher,
``python -m core.lifeline PARENT_PID -- argv…``, which then execs the real command, so it
works for any program (the Go `temporal` binary too) and no code runs in the forked child
before ``exec`` (a ``preexec_fn`` is unsafe once the parent has threads, and the Temporal
SDK's runtime starts some).

The signal goes when the *thread* that forked the child ends, so start children from a
thread that lives as long as they should (the main thread, in the CLI).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def lifeline_argv(argv: list[str], *, sig: signal.Signals = signal.SIGTERM) -> list[str]:
    """``argv`` wrapped so that the command gets ``sig`` when this process dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return argv  # no equivalent without a helper process; the owner's stop() still works
    return [sys.executable, "-m", "core.lifeline", str(os.getpid()), str(int(sig)), "--", *argv]


def bind_to_parent(parent_pid: int, sig: int) -> None:
    """Ask the kernel for ``sig`` when the parent dies; if it has died already, take it now."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died between fork and prctl: then we were re-parented already.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def running(pid: int) -> bool:
    """Whether ``pid`` runs (Linux); a zombie, dead but not yet reaped by its parent, does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def main(args: list[str]) -> None:
    parent, sig, dashes, *argv = args
    if dashes != "--" or not argv:
        sys.exit("usage: python -m core.lifeline PARENT_PID SIGNAL -- COMMAND [ARG…]")
    bind_to_parent(int(parent), int(sig))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
