"""KUBEPLAY_FAULT, the testing aid that kills a run at a chosen step: parsed strictly, counted over every minion."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubeplay.connectors.base import ContainerConfig
from kubeplay.connectors.faults import parse_fault, with_fault
from kubeplay.errors import InputError
from kubeplay.model import Minion
from tests.unit.fakes import FakeConnection


class Killed(Exception):
    pass


def kill() -> None:
    raise Killed


def test_unset_changes_nothing() -> None:
    conn = FakeConnection()
    connect = lambda minion: conn  # noqa: E731
    assert parse_fault("") is None
    assert with_fault(connect, None) is connect


CONNECT = """
import sys
from kubeplay.connectors.connect import connector
from kubeplay.model import Inventory, Minion

minion = Minion("m1", "127.0.0.1", connection="local")
connect = connector(Inventory((minion,), {}, {}, "hosts"), False, 5.0, print)
print(type(connect(minion)).__name__, "kubeplay.connectors.faults" in sys.modules)
"""


@pytest.mark.parametrize(
    ("fault", "connection", "loaded"),
    [("", "LocalConnection", "False"), ("after-create:1", "_FaultyConnection", "True")],
)
def test_the_aid_is_loaded_only_when_the_variable_is_set(fault: str, connection: str, loaded: str) -> None:
    env = {**os.environ, "KUBEPLAY_FAULT": fault}
    done = subprocess.run([sys.executable, "-c", CONNECT], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split()[-2:] == [connection, loaded], done.stderr


@pytest.mark.parametrize("spec", ["after-create", "after-create:0", "create:3", "after-pull:1", "after-create:x"])
def test_a_malformed_value_is_an_input_error_naming_the_variable(spec: str) -> None:
    with pytest.raises(InputError, match="KUBEPLAY_FAULT"):
        parse_fault(spec)


def test_the_nth_create_over_every_minion_kills_right_after_it_returned() -> None:
    conns = {name: FakeConnection(name) for name in ("m1", "m2")}
    connect = with_fault(lambda minion: conns[minion.name], parse_fault("after-create:3", kill))
    m1, m2 = connect(Minion("m1", "h1")), connect(Minion("m2", "h2"))
    first = m1.docker().create(ContainerConfig("a", "busybox", {}))
    m2.docker().create(ContainerConfig("b", "busybox", {}))
    m1.docker().start(first)  # a start is another event
    with pytest.raises(Killed):
        m2.docker().create(ContainerConfig("c", "busybox", {}))
    assert sorted(c.config.name for c in conns["m2"].fake_docker.held.values()) == ["b", "c"]


def test_restore_counts_iptables_restore_and_route_counts_route_changes_not_reads() -> None:
    connect = with_fault(lambda minion: FakeConnection(), parse_fault("after-route:1", kill))
    conn = connect(Minion("m1", "h1"))
    conn.run(("iptables-restore", "--noflush"), b"*nat\nCOMMIT\n")
    conn.run(("ip", "-4", "route", "show"))
    with pytest.raises(Killed):
        conn.run(("ip", "route", "replace", "172.22.0.0/16", "via", "10.0.0.2"))
