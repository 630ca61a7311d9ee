"""Connecting early (cli/early.py, connectors/ahead.py): the program a run starts while it still reads its input is
the very one its observation then uses, nothing the run did not take stays open, and a minion that could not be
reached is reported where the run asks for it."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.cli import early
from kubeplay.connectors.ahead import ConnectingAhead
from kubeplay.connectors.base import Connector, HeldProcess, MinionConnection
from kubeplay.errors import ConnectionFailed
from kubeplay.kubelet.lock import GO, LockRequest, this_process
from kubeplay.model import Inventory, Minion
from kubeplay.proxy.sync import READ_NETWORK_FIELDS
from tests.unit.fakes import FakeConnection

INVENTORY = "[minions]\nm1\nm2\n"
NETWORK = "\0".join(["", "0", "", "0", ""]) + "\0"
"""What the rules and routes read by the one program look like when there are none (READ_NETWORK_FIELDS fields)."""


class DialledMinion(FakeConnection):
    """A minion whose Docker is read through its one program (as over SSH): that program answers the lock, then the
    rules and routes; Docker itself is the fake one."""

    def __init__(self, name: str) -> None:
        super().__init__(name, held="locked\n" + NETWORK)

    def docker_dial(self) -> tuple[str, ...]:
        return ("docker", "system", "dial-stdio")

    def read_docker_over(self, program: HeldProcess) -> None:
        pass


def arguments(tmp_path: Path) -> argparse.Namespace:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return argparse.Namespace(
        inventory=str(tmp_path / "hosts.ini"), extra_vars=[], accept_new_host_keys=False, timeout=10.0, forks=5
    )


def started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, lock: bool
) -> tuple[early.Early, dict[str, FakeConnection]]:
    conns: dict[str, FakeConnection] = {name: DialledMinion(name) for name in ("m1", "m2")}

    def connector(inventory: Inventory, accept: bool, timeout: float, warn: object, remember: object) -> Connector:
        return lambda minion: conns[minion.name]

    monkeypatch.setattr(early, "connector", connector)
    begun = early.start(arguments(tmp_path), network=True, lock=lock)
    assert begun is not None
    return begun, conns


@pytest.mark.parametrize("lock", [True, False])
def test_the_program_started_early_is_the_one_the_observation_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock: bool
) -> None:
    begun, conns = started(tmp_path, monkeypatch, lock=lock)
    inputs = reconcile.load([], str(tmp_path / "hosts.ini"), {}, None)
    connect = begun.connector(inputs.inventory)
    assert connect is not None
    request = LockRequest(this_process(), 0) if lock else None
    with reconcile.observe(inputs, connect, 5, network=True, lock=request) as seen:
        assert sorted(seen.networks) == ["m1", "m2"]  # read from the program started early
    begun.close()
    for conn in conns.values():
        assert len(conn.spawned) == 1, conn.spawned  # the observation started no program of its own
        assert conn.held.closed and conn.closed
        assert conn.held.written.startswith(GO) == lock  # (a program that only reads is not told to go)
    assert NETWORK.count("\0") == READ_NETWORK_FIELDS


def test_a_run_that_stops_before_connecting_leaves_nothing_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun, conns = started(tmp_path, monkeypatch, lock=True)
    deadline = time.monotonic() + 10
    while not all(c.spawned for c in conns.values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    begun.close()
    while not all(c.held.closed and c.closed for c in conns.values()) and time.monotonic() < deadline:
        time.sleep(0.01)  # (one being lent as the run stopped is closed by its thread)
    for conn in conns.values():
        assert conn.held.closed and conn.closed
        assert conn.held.written == b""  # never told to go: it took no lock


def test_an_early_start_for_another_inventory_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    begun, _ = started(tmp_path, monkeypatch, lock=True)
    other = Inventory((Minion("m1", "10.0.0.9"),), {}, {}, "other.ini")
    assert begun.connector(other) is None
    begun.close()


class Refusing:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, minion: Minion) -> MinionConnection:
        self.asked.append(minion.name)
        if minion.name == "m2":
            raise ConnectionFailed("m2", "connection refused")
        return FakeConnection(minion.name)


def program(conn: MinionConnection) -> Sequence[str]:
    return ["sh", "-c", "true"]


def test_connecting_errors_are_raised_where_the_minion_is_asked_for_and_a_second_ask_connects_anew() -> None:
    refusing = Refusing()
    minions = [Minion("m1", "10.0.0.1"), Minion("m2", "10.0.0.2")]
    ahead = ConnectingAhead(minions, refusing, program, 5)
    conn = ahead(minions[0])
    assert conn.spawn(["sh", "-c", "true"]) is not conn.spawn(["sh", "-c", "true"])  # the one started ahead, once
    with pytest.raises(ConnectionFailed, match="refused"):
        ahead(minions[1])
    ahead(minions[0])
    assert sorted(refusing.asked) == ["m1", "m1", "m2"]
    ahead.close()
