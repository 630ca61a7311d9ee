"""The cluster lock without a cluster: the holder's record, the order locks are taken in, the wait, the message."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from kubeplay.connectors.base import HeldProcess
from kubeplay.errors import ConnectionFailed, Locked
from kubeplay.kubelet.lock import LOCK_SCRIPT, Holder, LockRequest, hold_locks, parse_holder, this_process
from kubeplay.kubelet.observe import Session
from tests.unit.fakes import FakeConnection, FakeHeld

ALICE = Holder("alice", "ws1", 4242, "kubeplay apply -f shop/", "2026-11-29T22:40:01Z")
ME = Holder("bob", "ci", 7, "kubeplay apply -f 'my shop/' -e 'x=$(rm -rf /)'")


class Minionside(FakeConnection):
    """A minion whose lock program answers ``output``, or whose connection is ``gone``; ``order`` (shared by
    several minions) gets the names in the order their locks were asked for. An ``output`` that starts with
    "waiting" is a lock held elsewhere: asked not to wait (the run's first try), the program gives up at once,
    as LOCK_SCRIPT does."""

    def __init__(self, name: str, output: str = "locked\n", gone: bool = False, order: list[str] | None = None) -> None:
        super().__init__(name, held=output)
        self.gone = gone
        self.order = [] if order is None else order

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        if self.gone:
            raise ConnectionFailed(self.minion.name, "connection lost")
        self.order.append(self.minion.name)
        first_line = self.held_answer.split("\n")[0]
        if argv[-1] == "0" and first_line.startswith("waiting "):
            record = first_line.removeprefix("waiting ")
            self.spawned.append(tuple(argv))
            self.held = FakeHeld(f"waiting {record}\ntimeout {record}\n")
            return self.held
        return super().spawn(argv)


def session(*conns: Minionside) -> Session:
    return Session({c.minion.name: c for c in conns})


def test_a_holder_record_is_one_json_line_that_reads_back() -> None:
    record = ME.record()
    assert "\n" not in record
    assert json.loads(record)["command"] == ME.command
    assert parse_holder(record) == ME


@pytest.mark.parametrize(
    "record", ["", "garbage", "[]", '{"user": "x"}', '{"user":"a","host":"b","pid":"x","command":""}']
)
def test_a_lock_file_without_a_holder_record_names_no_one(record: str) -> None:
    assert parse_holder(record) is None


def test_a_holder_is_named_with_user_host_pid_command_and_since() -> None:
    assert str(ALICE) == "alice@ws1 (pid 4242, kubeplay apply -f shop/, since 2026-11-29T22:40:01Z)"


def test_this_process_names_its_command_line_quoted() -> None:
    holder = this_process(["apply", "-f", "my shop/"])
    assert holder.command == "kubeplay apply -f 'my shop/'"
    assert holder.pid > 0 and holder.user and holder.host


def test_free_minions_are_locked_with_one_try_each_without_waiting_and_released_after_the_block() -> None:
    conns = [Minionside("m3"), Minionside("m1"), Minionside("m2")]
    with hold_locks(session(*conns), LockRequest(ME, 60), print):
        assert [c.spawned for c in conns] == [[("sh", "-c", LOCK_SCRIPT, "kubeplay-lock", "0")]] * 3
        assert not any(c.held.closed for c in conns)
    assert all(c.held.closed for c in conns)


def test_from_a_lock_held_elsewhere_on_minions_are_locked_in_the_order_of_their_names() -> None:
    """No deadlock: the run waits for m2 holding only m1 (m3's first lock is released), then locks m3."""
    order: list[str] = []
    busy = f"waiting {ALICE.record()}\nlocked\n"
    m1, m2, m3 = Minionside("m1", order=order), Minionside("m2", busy, order=order), Minionside("m3", order=order)
    with hold_locks(session(m3, m2, m1), LockRequest(ME, 60), print):
        assert sorted(order[:3]) == ["m1", "m2", "m3"]
        assert order[3:] == ["m2", "m3"]
        assert [argv[-1] for argv in m3.spawned] == ["0", "60"]
        assert not any(c.held.closed for c in (m1, m2, m3))
    assert all(c.held.closed for c in (m1, m2, m3))


def test_the_script_is_fixed_and_go_then_the_holder_go_on_stdin() -> None:
    m1 = Minionside("m1")
    with hold_locks(session(m1), LockRequest(ME, 60), print):
        pass
    assert m1.spawned == [("sh", "-c", LOCK_SCRIPT, "kubeplay-lock", "0")]
    go, record = m1.held.written.decode().splitlines()
    assert go == "go"
    written = json.loads(record)
    assert written["command"] == ME.command
    assert written["since"].endswith("Z")


def test_a_lock_held_elsewhere_releases_the_locks_taken_and_names_the_holder() -> None:
    m1, m2, m3 = (
        Minionside("m1"),
        Minionside("m2", f"waiting {ALICE.record()}\ntimeout {ALICE.record()}\n"),
        Minionside("m3"),
    )
    said: list[str] = []
    with pytest.raises(Locked) as caught, hold_locks(session(m1, m2, m3), LockRequest(ME, 30), said.append):
        pytest.fail("the block runs only with every lock held")
    assert str(caught.value) == (
        "m2 is locked by alice@ws1 (pid 4242, kubeplay apply -f shop/, since 2026-11-29T22:40:01Z): "
        "gave up after 30 s (--lock-timeout), nothing was changed"
    )
    assert m1.held.closed and m2.held.closed and m3.held.closed
    assert [argv[-1] for argv in m3.spawned] == ["0"]  # tried at first, released before waiting for m2
    assert said == [f"waiting up to 30 s for the lock of m2, held by {ALICE}"]


def test_with_no_wait_the_run_says_nothing_and_gives_up_at_once() -> None:
    m1 = Minionside("m1", "waiting \ntimeout \n")
    said: list[str] = []
    held_elsewhere = r"m1 is locked by another run .*did not wait \(--lock-timeout 0\)"
    with pytest.raises(Locked, match=held_elsewhere), hold_locks(session(m1), LockRequest(ME, 0), said.append):
        pass
    assert said == []


def test_one_wait_in_all_each_holder_named_once() -> None:
    """The second minion gets what is left of the wait, and the same holder is not announced twice."""
    times = iter([100.0, 100.0, 125.0])
    wait = f"waiting {ALICE.record()}\nlocked\n"
    m1, m2 = Minionside("m1", wait), Minionside("m2", wait)
    said: list[str] = []
    with hold_locks(session(m1, m2), LockRequest(ME, 60), said.append, clock=lambda: next(times)):
        pass
    assert [argv[-1] for argv in (*m1.spawned, *m2.spawned)] == ["0", "60", "0", "35"]
    assert len(said) == 1


def test_a_holder_is_named_once_whichever_second_it_took_each_lock_and_not_again_while_releasing() -> None:
    """A run's locks are taken at different times (its record's ``since`` differs), and a lock being released
    is held a moment longer with its file emptied: the run that waits for it is not named again, as another."""
    later = Holder(ALICE.user, ALICE.host, ALICE.pid, ALICE.command, "2026-11-29T22:40:02Z")
    m1 = Minionside("m1", f"waiting {ALICE.record()}\nlocked\n")
    m2 = Minionside("m2", f"waiting {later.record()}\nlocked\n")
    m3 = Minionside("m3", "waiting \nlocked\n")
    said: list[str] = []
    with hold_locks(session(m1, m2, m3), LockRequest(ME, 60), said.append):
        pass
    assert said == [f"waiting up to 60 s for the lock of m1, held by {ALICE}"]


def test_each_run_waited_for_is_named() -> None:
    bob = Holder("bob", "ws2", 99, "kubeplay delete pod web", ALICE.since)
    m1, m2 = Minionside("m1", "waiting \nlocked\n"), Minionside("m2", f"waiting {bob.record()}\nlocked\n")
    said: list[str] = []
    with hold_locks(session(m1, m2), LockRequest(ME, 60), said.append, clock=lambda: 0.0):
        pass
    assert said == [
        "waiting up to 60 s for the lock of m1, held by another run (that has not written who it is yet)",
        f"waiting up to 60 s for the lock of m2, held by {bob}",
    ]


def test_a_minion_that_cannot_be_locked_is_unreachable_not_changed() -> None:
    m1, m2, m3 = Minionside("m1", gone=True), Minionside("m2", "sh: 1: flock: not found\n"), Minionside("m3")
    s = session(m1, m2, m3)
    with hold_locks(s, LockRequest(ME, 60), print):
        assert set(s.connections) == {"m3"}
        assert s.unreachable == {"m1": "connection lost", "m2": "lock: sh: 1: flock: not found"}
    assert m1.closed and m2.closed and m2.held.closed
