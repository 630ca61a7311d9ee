"""The cluster lock: one run at a time changes a minion.

A run that may change minions (apply without --check, delete) locks every minion it reached before it observes
them, and holds the locks until it ends: first all at once without waiting, then, only when another run holds one,
one by one in the order of their names, waiting (so two runs never each hold a lock the other waits for).

Each lock is a flock(1) taken by a shell on the minion whose stdin is a channel of the run's own SSH connection
(a pipe for a local minion). When the run ends, is killed or loses its connection, that stdin closes, the shell exits
and the minion's kernel releases the lock: a killed run leaves no stale lock, and neither does a reboot (/run is a
tmpfs).

The lock file is ``/run/lock/kubeplay-NETNS.lock``, NETNS being the inode number of the minion's network namespace,
so that minions sharing one filesystem (as the lab's do) have a lock each. Once it holds the lock, the run writes
who it is into the file, one JSON line (user, host, pid, command, since); a run that has to wait reads it to name
the holder.

The lock program may do more while it holds the lock (``Held``, ``lock_script``): over SSH it also reads the
minion's rules and routes and ends in `docker system dial-stdio` (reconcile.py composes it), so that a run opens
one exec session per minion. Docker's reads then go over its stdin and output; when that Docker program ends early
the shell still keeps the lock until stdin ends.

The program does nothing before it reads ``go`` on its stdin (``GO_STEP``): a run may start it ahead, while it
still reads and checks its input (cli/early.py), and closes it unasked when the input is bad: the program then ends
without having touched the lock or anything else.

Nothing from the user reaches a shell: the script is fixed, the wait is its one positional argument, and the
holder's record is sent on its stdin.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from kubeplay.connectors.base import HeldProcess, MinionConnection
from kubeplay.connectors.held import HeldReader
from kubeplay.dataclass import asdict, dataclass, replace
from kubeplay.errors import ConnectionFailed, Locked, MinionError
from kubeplay.kubelet.observe import Session
from kubeplay.parallel import Say, in_parallel

GO_STEP = """IFS= read -r go && [ "$go" = go ] || exit 0\n"""
"""Wait for the run to say ``go`` (one line of stdin); end at once, having done nothing, when stdin ends first."""
GO = b"go\n"
LOCK_STEPS = """\
dir=/run/lock; [ -d "$dir" ] || dir=/tmp
ns=$(stat -L -c %i /proc/self/ns/net 2>/dev/null) || ns=host
lock="$dir/kubeplay-$ns.lock"
command -v flock >/dev/null || { echo "flock not found (util-linux)"; exit 127; }
exec 9>>"$lock"
if ! flock -n 9; then
  echo "waiting $(head -n 1 "$lock")"
  if [ "$1" = 0 ] || ! flock -w "$1" 9; then echo "timeout $(head -n 1 "$lock")"; exit 75; fi
fi
: >"$lock"
echo locked || exit 1
"""
"""Take the lock (the file descriptor 9 holds it, for this shell and every program it starts) and say ``locked``."""
RECORD_STEP = """IFS= read -r holder && printf '%s\\n' "$holder" >"$lock"\n"""
"""Read the holder's record (one line of stdin) into the lock file."""
HOLD_STEP = "cat >/dev/null\n"
"""Keep the lock until stdin ends."""
RELEASE_STEP = ': >"$lock"\n'
"""Empty the lock file (the lock itself is released when the shell exits)."""


def lock_script(first: str = "", then: str = HOLD_STEP) -> str:
    """The lock program with ``first`` run once the lock is held (before the holder's record is read, while the
    run sends it), and ``then`` run after; ``then`` must last until stdin ends (the run is over)."""
    return GO_STEP + LOCK_STEPS + first + RECORD_STEP + then + RELEASE_STEP


LOCK_SCRIPT = lock_script()
"""Run as ``sh -c LOCK_SCRIPT kubeplay-lock WAIT``. Once told ``go`` on stdin, answers one line per event:
``waiting RECORD`` when another run holds the lock, ``timeout RECORD`` when it still does after WAIT seconds,
``locked`` once the lock is held; then it reads the holder's record (one line) from stdin into the lock file and
keeps the lock until stdin ends, when it empties the file again."""


@dataclass(frozen=True)
class Held:
    """What a minion's lock program runs while it holds the lock (``lock_script``), and how its output reads on."""

    first: str = ""
    then: str = HOLD_STEP
    fields: int = 0
    """NUL-ended fields ``first`` and ``then`` write before the rest of their output (``HeldReader.preamble``)."""


HOLD = Held()
"""Only hold the lock."""


def reading_docker(conn: MinionConnection, first: str = "", fields: int = 0) -> Held:
    """What a minion's one program runs when the connection reads Docker through a program of the minion: ``first``
    (writing ``fields`` NUL-ended fields, e.g. the rules and routes), then that program, over which Docker's reads
    go for the rest of the run; else (``HOLD``) it only holds the lock, Docker read through its own channel."""
    dial = conn.docker_dial()
    if not dial:
        return HOLD
    # its stderr kept out of Docker's stream (as on a channel of its own); gone early, the lock is kept all the same
    then = f"{shlex.join(dial)} 2>/dev/null; exec >&- 2>&-; cat >/dev/null\n"
    return Held(first, then, fields)


def lock_program(held: Held, wait: int) -> list[str]:
    """The command line of a minion's lock program running ``held``, waiting up to ``wait`` seconds for the lock."""
    return ["sh", "-c", lock_script(held.first, held.then), "kubeplay-lock", str(wait)]


def read_program(held: Held) -> list[str]:
    """The command line of the same program for a run that takes no lock: ``held``'s steps without the lock's."""
    return ["sh", "-c", held.first + held.then, "kubeplay-read"]


ANSWER_SLACK = 15.0
"""Seconds the lock program may take to answer, beyond the wait it was given."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) a minion's lock."""

    user: str
    host: str
    pid: int
    command: str
    since: str = ""
    """When the lock was taken, UTC, ISO 8601 ("2026-11-29T22:40:01Z")."""

    def __str__(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid}, {self.command}, since {self.since or '?'})"

    def record(self) -> str:
        """The line written into the lock file."""
        return json.dumps(asdict(self), ensure_ascii=True)


def parse_holder(record: str) -> Holder | None:
    """The holder named by a lock file's line; None when it is empty or not a holder record."""
    try:
        data = json.loads(record)
        holder = Holder(
            str(data["user"]), str(data["host"]), int(data["pid"]), str(data["command"]), str(data.get("since", ""))
        )
    except (ValueError, TypeError, KeyError):
        return None
    return holder


def describe_holder(record: str) -> str:
    holder = parse_holder(record)
    return str(holder) if holder else "another run (that has not written who it is yet)"


def this_process(argv: Sequence[str] | None = None) -> Holder:
    """This kubeplay process as a lock holder (``since`` is set when each lock is taken)."""
    args = sys.argv[1:] if argv is None else argv
    return Holder(getpass.getuser(), socket.gethostname(), os.getpid(), shlex.join(["kubeplay", *args]))


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second ("2026-11-29T22:40:01Z")."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class LockRequest:
    holder: Holder
    timeout: int
    """Seconds to wait, in all, for locks held by other runs; 0: do not wait."""


def take(
    conn: MinionConnection, holder: Holder, wait: int, waiting: Callable[[str], None], held: Held = HOLD
) -> HeldReader:
    """Lock one minion, waiting up to ``wait`` seconds while another run holds it (``waiting`` is told that run's
    record once). Returns the program that holds the lock (running ``held``), its output read up to ``locked``:
    closing it releases the lock. Raises Locked when another run still holds it, MinionError when the lock cannot
    be taken for another reason."""
    name = conn.minion.name
    proc = HeldReader(conn.spawn(lock_program(held, wait)), held.fields)
    try:
        proc.write(GO)
        said: list[str] = []
        deadline = time.monotonic() + wait + ANSWER_SLACK
        while (line := _line(proc, deadline, name)) is not None:
            verb, _, record = line.partition(" ")
            if verb == "waiting" and wait > 0:
                waiting(record)
            elif verb == "timeout":
                raise Locked(name, describe_holder(record), wait)
            elif line == "locked":
                proc.write((replace(holder, since=utc_now()).record() + "\n").encode())
                return proc
            elif verb != "waiting" and line:
                said.append(line)
        raise MinionError(name, "lock: " + ("; ".join(said) or "the lock program ended without an answer"))
    except OSError as exc:
        proc.close()
        raise MinionError(name, f"lock: {exc}") from exc
    except BaseException:
        proc.close()
        raise


def _line(proc: HeldReader, deadline: float, minion: str) -> str | None:
    """The program's next line, None once it exited; MinionError when it is silent past the deadline."""
    try:
        return proc.line(deadline)
    except TimeoutError as exc:
        raise MinionError(minion, "lock: no answer from the lock program") from exc


def _only_hold(conn: MinionConnection) -> Held:
    return HOLD


@contextmanager
def hold_locks(
    session: Session,
    request: LockRequest,
    say: Say,
    clock: Callable[[], float] = time.monotonic,
    forks: int = 20,
    held: Callable[[MinionConnection], Held] = _only_hold,
) -> Iterator[Mapping[str, HeldReader]]:
    """Lock every connected minion of the session and hold the locks for the block; the block is given each
    minion's lock program (running what ``held`` says for its connection), its output read up to ``locked``.

    First every minion is tried at once, without waiting (one round trip for the whole cluster when no other run
    holds a lock). When some lock is held elsewhere, the locks taken past the first such minion (in the order of
    their names) are released, and from it on the minions are locked one by one in that order, waiting: a run
    never waits for a lock while holding one of a later minion, so two runs never each hold a lock the other
    waits for. The whole wait for other runs is at most ``request.timeout`` seconds; each holder is named once.
    A minion whose lock cannot be taken for another reason (the connection dropped, no flock) is moved to the
    session's unreachable minions: it is unknown, and not changed. Raises Locked, after releasing the locks
    already taken, when another run still holds a lock."""
    deadline = clock() + request.timeout
    taken: dict[str, HeldReader] = {}
    try:
        rest = _try_all(session, request.holder, taken, forks, held)
        _take_in_order(session, request, rest, taken, say, lambda: max(0, math.ceil(deadline - clock())), held)
        yield taken
    finally:
        release(list(taken.values()))


_Attempt = HeldReader | Locked | ConnectionFailed | MinionError


def _try_all(
    session: Session,
    holder: Holder,
    taken: dict[str, HeldReader],
    forks: int,
    held: Callable[[MinionConnection], Held],
) -> list[str]:
    """Try every minion's lock at once without waiting; the locks taken go to ``taken``. Returns the minions still
    to lock in order: from the first whose lock another run holds on (their locks released), none when all were
    taken."""
    names = sorted(session.connections)

    def attempt(name: str) -> _Attempt:
        conn = session.connections[name]
        try:
            return take(conn, holder, 0, _ignore, held(conn))
        except (Locked, ConnectionFailed, MinionError) as exc:
            return exc

    tried = dict(zip(names, in_parallel(attempt, names, forks), strict=True))
    busy = next((i for i, name in enumerate(names) if isinstance(tried[name], Locked)), len(names))
    later = []
    for index, name in enumerate(names):
        outcome = tried[name]
        if isinstance(outcome, ConnectionFailed | MinionError):
            session.drop(name, outcome.reason)
        elif isinstance(outcome, Locked):
            continue
        elif index < busy:
            taken[name] = outcome
        else:
            later.append(outcome)
    release(later)
    return [name for name in names[busy:] if name in session.connections]


def _ignore(record: str) -> None:
    pass


def _take_in_order(
    session: Session,
    request: LockRequest,
    names: Sequence[str],
    taken: dict[str, HeldReader],
    say: Say,
    left: Callable[[], int],
    held: Callable[[MinionConnection], Held],
) -> None:
    """Lock ``names`` one by one in this order, each waiting what is ``left`` of the run's wait."""
    named: set[Holder | None] = set()

    def waiting(minion: str, wait: int) -> Callable[[str], None]:
        def announce(record: str) -> None:
            if (who := _who(record)) in named or (who is None and named):
                return
            named.add(who)
            say(f"waiting up to {wait} s for the lock of {minion}, held by {describe_holder(record)}")

        return announce

    for name in names:
        wait = left()
        conn = session.connections[name]
        try:
            taken[name] = take(conn, request.holder, wait, waiting(name, wait), held(conn))
        except (ConnectionFailed, MinionError) as exc:
            session.drop(name, exc.reason)
        except Locked as exc:
            raise Locked(exc.minion, exc.holder, request.timeout) from None  # the whole wait, not this one's


def _who(record: str) -> Holder | None:
    """The run a lock file's record names, whichever of its locks the record is of (``since`` differs from lock
    to lock); None when it names no one: a run that has not written its record yet, or one releasing its lock
    (the file is emptied just before), so such a holder is named only when no run was."""
    holder = parse_holder(record)
    return replace(holder, since="") if holder else None


def release(held: Sequence[HeldProcess]) -> None:
    """Release locks (in parallel): each program is closed and given a few seconds to exit."""
    in_parallel(lambda proc: proc.close(), list(held), len(held))
