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
    for, ``wait`` seconds at most in all."""
    if "kubeplay.connectors.ssh" in sys.modules:  # (never imported here: --help and validate load no paramiko)
        from kubeplay.connectors.ssh import shut_transports

        shut_transports()
    threads = threading.enumerate()
    for timer in threads:
        if isinstance(timer, threading.Timer):  # (what it would do is of no more use: paramiko's handshake timeouts)
            timer.cancel()
    deadline = time.monotonic() + wait
    left: list[threading.Thread] = []
    for thread in threads:
        if isinstance(thread, threading._DummyThread):  # (started outside Python: it cannot be waited for)
            left.append(thread)
        elif thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                left.append(thread)
    return left


def end_process(code: int | str | None, wait: float = THREADS_WAIT) -> NoReturn:
    """Exit with ``code`` (as sys.exit takes it): through the interpreter's shutdown when no thread is left,
    else at once, stdout and stderr flushed first. A Ctrl-C while waiting does not change the run's exit code."""
    try:
        left = threads_left(wait)
    except KeyboardInterrupt:
        left = [t for t in threading.enumerate() if t is not threading.current_thread() and t.is_alive()]
    if not left:
        sys.exit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # (a closed or broken pipe: nothing more can be said)
            stream.flush()
    os._exit(EXIT_OK if code is None else code if isinstance(code, int) else EXIT_ERROR)
