"""The end of the process (cli/ending.py): no thread of kubeplay's is left to the interpreter's shutdown, where a
daemon thread inside cryptography's Rust code (paramiko's handshake) killed the process with SIGABRT."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from kubeplay.cli import ending
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED
from kubeplay.connectors import ssh  # (its connections are the ones a run makes: shut at the end)
from kubeplay.connectors.sshlib import paramiko

IN_RUST = textwrap.dedent(
    """
    import sys, threading
    from cryptography.hazmat.primitives import hashes

    inside = threading.Event()

    class Endless(hashes.SHA256):
        @property
        def name(self):  # read by cryptography's Rust code: Python called back from Rust, never returning
            inside.set()
            while True:
                pass

    threading.Thread(target=hashes.Hash, args=(Endless(),), daemon=True).start()
    inside.wait()
    print("the run's output")
    """
)
"""A process whose daemon thread is inside Python code called from cryptography's Rust code when it ends."""


def ended(last_line: str) -> subprocess.CompletedProcess[str]:
    program = IN_RUST + last_line
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)


def test_a_plain_exit_with_a_daemon_thread_in_rust_code_aborts_the_process() -> None:
    # what the fix is for: the interpreter's shutdown unwinds the thread through Rust frames (FATAL, SIGABRT)
    run = ended("sys.exit(1)")
    assert run.returncode == -6, run.stderr
    assert "FATAL: exception not rethrown" in run.stderr


@pytest.mark.parametrize("code", [EXIT_ERROR, EXIT_INTERRUPTED])
def test_ending_the_process_so_exits_with_the_runs_code_and_its_output(code: int) -> None:
    run = ended(f"from kubeplay.cli.ending import end_process; end_process({code}, wait=0.2)")
    assert (run.returncode, run.stdout, run.stderr) == (code, "the run's output\n", "")


@pytest.fixture
def silent_sshd() -> Iterator[socket.socket]:
    """A loopback SSH server that says its banner and then nothing: a client's handshake stays in progress."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = server.accept()
        accepted.append(conn)
        conn.sendall(b"SSH-2.0-silent\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield server
    for conn in accepted:
        conn.close()
    server.close()


def handshaking(server: socket.socket) -> tuple[threading.Thread, list[BaseException]]:
    """A thread making an SSH connection to ``server``, started, and the list it puts the handshake's error in."""
    failed: list[BaseException] = []

    def connect() -> None:
        transport = paramiko.Transport(socket.create_connection(server.getsockname()))
        try:
            transport.start_client(timeout=60)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            failed.append(exc)

    connecting = threading.Thread(target=connect, daemon=True)
    connecting.start()
    return connecting, failed


def transports() -> list[paramiko.Transport]:
    return [t for t in threading.enumerate() if isinstance(t, paramiko.Transport)]


def test_a_handshake_in_progress_is_shut_and_its_threads_waited_for(silent_sshd: socket.socket) -> None:
    connecting, failed = handshaking(silent_sshd)
    while not transports():
        connecting.join(0.01)
    made = [t for t in threading.enumerate() if isinstance(t, (paramiko.Transport, threading.Timer))]
    left = ending.threads_left(wait=10.0)  # (the handshake would have waited 60 s)
    assert connecting not in left and not set(made) & set(left)
    assert len(failed) == 1


def hold_back(monkeypatch: pytest.MonkeyPatch, which: Callable[[threading.Thread], bool]) -> threading.Event:
    """Threads start as before, but those ``which`` picks run only once the returned event is set: started, listed by
    threading.enumerate(), not yet alive, as a thread is for a while on a loaded machine before it first runs."""
    runs = threading.Event()
    start_thread = threading._start_new_thread  # type: ignore[attr-defined]

    def held_back(function: Callable[[], None], args: tuple[()]) -> int:
        thread = getattr(function, "__self__", None)  # (Thread.start passes its bound _bootstrap)
        if not (isinstance(thread, threading.Thread) and which(thread)):
            return int(start_thread(function, args))

        def once_let() -> None:
            runs.wait()
            function(*args)

        return int(start_thread(once_let, ()))

    monkeypatch.setattr(threading, "_start_new_thread", held_back)
    return runs


def test_a_transport_whose_thread_has_yet_to_run_is_shut_too(
    silent_sshd: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The end of the process coming then (a connection made ahead starting its handshake) left that handshake
    # running (the test above failed so at load 15-23: the transport was listed before its thread ran).
    runs = hold_back(monkeypatch, lambda thread: isinstance(thread, paramiko.Transport))
    connecting, failed = handshaking(silent_sshd)
    while not (made := transports()):
        connecting.join(0.01)
    assert not made[0].is_alive()
    ssh.shut_transports()  # (what threads_left does first; its waiting would wait for this thread too)
    runs.set()
    left = ending.threads_left(wait=10.0)
    assert connecting not in left and made[0] not in left
    assert len(failed) == 1


def test_a_thread_yet_to_run_is_left_when_it_does_not_run_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # `get pods -w` ended by Ctrl-C exited 1 (CI), with "RuntimeError: cannot join thread before it is started":
    # a worker still at work was starting a thread when the process ended, and threads_left tried to wait for it
    late = threading.Thread(target=lambda: None)
    runs = hold_back(monkeypatch, lambda thread: thread is late)
    starting = threading.Thread(target=late.start)  # (Thread.start returns once the thread ran)
    starting.start()
    try:
        while late not in threading.enumerate():
            starting.join(0.01)
        assert set(ending.threads_left(wait=0.2)) == {starting, late}
    finally:
        runs.set()
    assert ending.threads_left(wait=10.0) == []


def test_the_threads_a_thread_starts_on_its_way_out_are_waited_for_too() -> None:
    # (the workers of a run ended by Ctrl-C go on a moment: one may connect, starting a transport's thread)
    children: list[threading.Thread] = []

    def parent() -> None:
        time.sleep(0.05)  # (threads_left lists the threads before this one starts its child)
        children.append(threading.Thread(target=time.sleep, args=(0.2,)))
        children[0].start()

    threading.Thread(target=parent).start()
    assert ending.threads_left(wait=10.0) == []
    assert not children[0].is_alive()


def test_a_thread_that_runs_past_the_wait_is_left_and_one_that_ends_is_not() -> None:
    release = threading.Event()
    short = threading.Thread(target=release.wait, args=(0.05,))
    long = threading.Thread(target=release.wait, args=(60,), daemon=True)
    short.start()
    long.start()
    try:
        left = ending.threads_left(wait=0.5)
        assert long in left and short not in left
    finally:
        release.set()
    long.join()


def test_with_no_thread_left_the_process_ends_through_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ending, "threads_left", lambda wait: [])
    with pytest.raises(SystemExit) as exited:
        ending.end_process(EXIT_ERROR)
    assert exited.value.code == EXIT_ERROR
