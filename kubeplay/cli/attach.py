"""The bodies of `kubeplay logs` and `kubeplay exec`: find the pod's container on the cluster, then stream its logs
or run a command in it over that minion's connection.

A pod is found by name among every reachable minion's kubeplay containers (of any project: names are unique
across projects); where a killed run left it twice, the running copy, else the oldest, as apply keeps. A pod with
one container needs no -c. Not found while a minion is unreachable: it may be there, so the exit code is 4.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import termios
import time
import tty
from collections.abc import Iterator
from contextlib import closing, contextmanager

from kubeplay import reconcile
from kubeplay.cli import render
from kubeplay.cli.commands import connector_for, load_inputs, warn_ignored
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE
from kubeplay.connectors.base import LocalStreams, MinionConnection, Terminal
from kubeplay.dataclass import dataclass
from kubeplay.errors import KubeplayError
from kubeplay.model import Observed, ObservedContainer, ObservedPod


class ContainerNotFound(KubeplayError):
    """The pod, or the container named, is not on the cluster (``code``: the exit code that says so)."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def find_pod(observed: Observed, name: str) -> ObservedPod:
    """The pod of that name on a reachable minion: the running copy, else the oldest. Raises ContainerNotFound (exit
    4 when an unreachable minion may hold it, each named with why it was not reached)."""
    found = sorted((p for p in observed.pods if p.name == name), key=lambda p: (not p.running, p.created, p.minion))
    if found:
        return found[0]
    if observed.unreachable:
        unknown = ", ".join(f"{m} unreachable ({observed.minions[m].error})" for m in observed.unreachable)
        raise ContainerNotFound(
            f"pod {name} not found on any reachable minion; {unknown}: it may be there", EXIT_UNREACHABLE
        )
    raise ContainerNotFound(f"pod {name} not found on any minion")


def pick_container(pod: ObservedPod, name: str) -> ObservedContainer:
    """The pod's app container named ``name``; with no name, its only one. Raises ContainerNotFound listing the pod's
    containers when there are several or none has the name."""
    apps = sorted(pod.apps, key=lambda c: c.container)
    names = ", ".join(c.container for c in apps)
    if name:
        for c in apps:
            if c.container == name:
                return c
        raise ContainerNotFound(f"pod {pod.name} has no container {name!r}; its containers: {names}")
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise ContainerNotFound(f"pod {pod.name} on {pod.minion} has no container left")
    raise ContainerNotFound(f"pod {pod.name} has {len(apps)} containers ({names}): name one with -c")


@dataclass(frozen=True)
class Located:
    connection: MinionConnection
    pod: ObservedPod
    container: ObservedContainer


@contextmanager
def located(args: argparse.Namespace) -> Iterator[Located]:
    """Connect to every minion, find the pod and its container; the connections stay open in the block."""
    inputs = load_inputs(args, [])
    with reconcile.observe(inputs, connector_for(args, inputs), args.forks, network=False) as seen:
        warn_ignored(seen.observed)
        pod = find_pod(seen.observed, args.pod)
        yield Located(seen.connections[pod.minion], pod, pick_container(pod, args.container))


def logs(args: argparse.Namespace) -> int:
    since = time.time() - args.since if args.since is not None else None
    out = sys.stdout.buffer
    try:
        with located(args) as found:
            stream = found.connection.docker().log_stream(found.container.id, args.tail, since, args.follow)
            with closing(stream):
                for chunk in stream:
                    out.write(chunk)
                    out.flush()
    except ContainerNotFound as exc:
        render.error(str(exc))
        return exc.code
    except KeyboardInterrupt:  # how -f ends: no message
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader had enough (| head): as cat does, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (nothing left to flush at exit)
    return EXIT_OK


def exec_argv(container_id: str, command: list[str], *, stdin: bool, terminal: Terminal | None) -> list[str]:
    """`docker exec` of the command in the container, as the minion runs it (each argument quoted by the
    connection)."""
    argv = ["docker", "exec"]
    argv += ["-i"] if stdin else []
    argv += ["-t", "-e", f"TERM={terminal.term}"] if terminal is not None else []
    return [*argv, container_id, *command]


def window_size() -> tuple[int, int]:
    """This terminal's (columns, rows)."""
    for fd in (sys.stdout.fileno(), sys.stdin.fileno()):
        try:
            size = os.get_terminal_size(fd)
            return size.columns, size.lines
        except OSError:
            continue
    return 80, 24


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """The local terminal in raw mode (every key goes to the command as typed, Ctrl-C included), restored after."""
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""What a shell reports for a program its reader went away from (141)."""
NO_TTY = "unable to use a TTY: the input is not a terminal; running without one"


def exec_command(args: argparse.Namespace) -> int:
    """Run the command in the container; kubeplay exits with its exit code (kubeplay's own codes when kubeplay
    fails before the command runs)."""
    terminal = None
    if args.tty:
        if sys.stdin.isatty():
            terminal = Terminal(os.environ.get("TERM") or "xterm", window_size)
        else:
            render.warning(NO_TTY)
    try:
        with located(args) as found:
            if found.container.state != "running":
                raise ContainerNotFound(
                    f"container {found.container.container} of pod {found.pod.name} is {found.container.state}, "
                    "not running: nothing to run a command in"
                )
            argv = exec_argv(found.container.id, args.argv, stdin=args.stdin, terminal=terminal)
            streams = LocalStreams(sys.stdin.fileno() if args.stdin else None)
            sys.stdout.flush()
            if terminal is None:
                code = found.connection.attach(argv, streams, None)
            else:
                with raw_terminal(sys.stdin.fileno()):
                    code = found.connection.attach(argv, streams, terminal)
    except ContainerNotFound as exc:
        render.error(str(exc))
        return exc.code
    except BrokenPipeError:  # the reader went away (| head): end as a program killed by SIGPIPE does, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    if code < 0:
        render.error(f"the command in pod {args.pod} ended without an exit status (killed by a signal?)")
        return EXIT_ERROR
    return code
