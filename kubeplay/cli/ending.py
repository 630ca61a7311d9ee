"""How the process ends, whatever ended the run (its work done, bad input, a usage error, Ctrl-C, a bug): with no
thread of its own still running when the interpreter shuts down.

Why: the interpreter, once it shuts down, ends a daemon thread that asks for the GIL with pthread_exit(), whose
forced unwind kills the whole process (SIGABRT, "FATAL: exception not rethrown") when it meets Rust code on the
thread's stack: cryptography's (pyo3), which calls Python back (its CipherContext.update, which paramiko's
transport thread calls for every packet, asks abc's __instancecheck__). A run that stops on bad input while its
connections made ahead (cli/early.py) are still being made ended so, now and then, instead of exiting 1 with its
error. So at the end the SSH transports still running are shut (their sockets shut
down: the handshakes end at once), the timers cancelled, and every thread is waited for, ``THREADS_WAIT`` seconds
at most in all. A thread still running after that (a TCP connect to a minion that does not answer, say) is never
left to the shutdown: stdout and stderr are flushed and the process ends at once (os._exit) with the run's exit
code.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import NoReturn

from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK

THREADS_WAIT = 0.5
"""How long, in all, the end of the process waits for its threads (once the SSH transports are shut, they end in
paramiko's 0.1 s poll)."""


def threads_left(wait: float) -> list[threading.Thread]:
    """The threads still running once the SSH transports are shut, the timers cancelled and each thread was waited
    for, ``wait`` seconds at most in all. A thread that ended may have started others on its way (a run's worker
    still at work when Ctrl-C ended the run, connecting or observing): they are shut, cancelled and waited for in
    turn, until no thread ends any more."""
    deadline = time.monotonic() + wait
    while True:
        _stop_connecting()
        others = [thread for thread in threading.enumerate() if thread is not threading.current_thread()]
        left = [thread for thread in others if not _ended(thread, deadline)]
        if len(left) == len(others):  # (none ended this time: none will, or none is left)
            return left


def _stop_connecting() -> None:
    """The SSH transports shut, the timers cancelled."""
    if "kubeplay.connectors.ssh" in sys.modules:  # (never imported here: --help and validate load no paramiko)
        from kubeplay.connectors.ssh import shut_transports

        shut_transports()
    for timer in threading.enumerate():
        if isinstance(timer, threading.Timer):  # (what it would do is of no more use: paramiko's handshake timeouts)
            timer.cancel()


def _ended(thread: threading.Thread, deadline: float) -> bool:
    """Whether ``thread`` ended, waited for until the ``deadline`` (time.monotonic) at most. A thread started a
    moment ago may have yet to run (under load, for a while): threading lists it, but it cannot be waited for
    before it runs (join raises RuntimeError), so it is given until the deadline to run."""
    if isinstance(thread, threading._DummyThread):  # (started outside Python: it cannot be waited for)
        return False
    while True:
        try:
            thread.join(max(0.0, deadline - time.monotonic()))
        except RuntimeError:  # ("cannot join thread before it is started": it runs in a moment)
            if time.monotonic() >= deadline:
                return False
            time.sleep(YET_TO_RUN_POLL)
        else:
            return not thread.is_alive()


YET_TO_RUN_POLL = 0.001
"""How often a thread started but yet to run is looked at again (it runs within a few ms, unless the machine is
loaded)."""


def end_process(code: int | str | None, wait: float = THREADS_WAIT) -> NoReturn:
    """Exit with ``code`` (as sys.exit takes it): through the interpreter's shutdown when no thread is left,
    else at once, stdout and stderr flushed first. A Ctrl-C while waiting does not change the run's exit code."""
    try:
        left = threads_left(wait)
    except KeyboardInterrupt:
        left = [t for t in threading.enumerate() if t is not threading.current_thread()]  # (or about to run)
    if not left:
        sys.exit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # (a closed or broken pipe: nothing more can be said)
            stream.flush()
    os._exit(EXIT_OK if code is None else code if isinstance(code, int) else EXIT_ERROR)
