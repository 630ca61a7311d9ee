"""Connections made ahead: a run starts connecting to its minions, and starts each minion's first program, in the
background as soon as it knows its inventory, while it still imports the rest of itself and reads and checks its
manifests. The minions' part (the SSH handshake, the session's start on the minion) then overlaps the run's own.

``ConnectingAhead`` is a ``Connector``: asked for a minion, it waits for the connection made ahead and lends it
(once; asked again, it connects anew), raising what connecting raised. The first ``spawn`` of the very program that
was started ahead on a lent connection gets that program, already running; any other spawn starts its own. What was
not lent, or not taken, is closed by ``close`` (on the connection, for a lent one): a run that stops early, on bad
input, leaves nothing open. A program started ahead must therefore do nothing a run could regret before the run
tells it to go on (kubelet/lock.py's lock program waits for ``go``), or only read.

The work runs on daemon threads: a process that ends does not wait for a minion that does not answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

from kubeplay.connectors.base import ConnectionWrapper, Connector, HeldProcess, MinionConnection
from kubeplay.model import Minion
from kubeplay.parallel import Pending, in_parallel, workers

Program = Callable[[MinionConnection], Sequence[str] | None]
"""The command line of the program to start ahead on a minion's connection (None: none)."""


class _Started(ConnectionWrapper):
    """A connection made ahead, with the program started on it: the first spawn of the same command line gets it."""

    def __init__(self, conn: MinionConnection, argv: tuple[str, ...], process: HeldProcess | None) -> None:
        super().__init__(conn)
        self._argv = argv
        self._process = process
        self._lock = threading.Lock()

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        with self._lock:
            process = self._process if tuple(argv) == self._argv else None
            if process is not None:
                self._process = None
        return process if process is not None else self.conn.spawn(argv)

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.close()
        self.conn.close()


def _start(conn: MinionConnection, program: Program) -> _Started:
    """The connection with its program started (none when it could not be: the run's own spawn then says why)."""
    argv: tuple[str, ...] = ()
    process = None
    try:
        argv = tuple(program(conn) or ())
        process = conn.spawn(argv) if argv else None
    except Exception:  # the connection's error, whatever it is: raised again by the run's own spawn
        process = None
    return _Started(conn, argv, process)


class ConnectingAhead:
    """Each of ``minions`` connected with ``connect`` and given its ``program``, in the background (``forks`` at a
    time), from the moment it is made."""

    def __init__(self, minions: Sequence[Minion], connect: Connector, program: Program, forks: int) -> None:
        self._connect = connect
        self._program = program
        self._forks = forks
        self._minions = {m.name: m for m in minions}
        self._opening: dict[str, Pending[_Started]] = {m.name: Pending() for m in minions}
        self._lent: set[str] = set()
        self._closed = False
        self._lock = threading.Lock()
        queue = iter(list(minions))
        for _ in range(workers(forks, len(minions))):
            threading.Thread(target=self._work, args=(queue,), name="kubeplay-ahead", daemon=True).start()

    def _next(self, queue: Iterator[Minion]) -> Minion | None:
        with self._lock:
            return next(queue, None)

    def _work(self, queue: Iterator[Minion]) -> None:
        while (minion := self._next(queue)) is not None:
            pending = self._opening[minion.name]
            try:
                opened = _start(self._connect(minion), self._program)
            except Exception as exc:  # raised again where the run asks for this minion
                pending.fail(exc)
                continue
            with self._lock:
                unwanted = self._closed
                if not unwanted:
                    pending.succeed(opened)
            if unwanted:
                opened.close()

    def __call__(self, minion: Minion) -> MinionConnection:
        """The minion's connection made ahead (waiting for it), the first time it is asked for; else a new one."""
        with self._lock:
            ahead = not self._closed and minion.name not in self._lent and self._minions.get(minion.name) == minion
            if ahead:
                self._lent.add(minion.name)
        if not ahead:
            return self._connect(minion)
        return self._opening[minion.name].result()

    def close(self) -> None:
        """Close what was not lent; what is still being made is closed once it is."""
        with self._lock:
            self._closed = True
            done = [p for n, p in self._opening.items() if n not in self._lent and p.done() and not p.failed()]
        in_parallel(lambda p: p.result().close(), done, self._forks)
