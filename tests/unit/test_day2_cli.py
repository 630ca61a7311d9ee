"""`logs`, `exec`, `describe` and `get minions` through the command line, on in-memory minions; and the SSH side of
`exec` (the pump between local streams and a channel) on a stand-in channel."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.cli import early, main
from kubeplay.cli.logs import duration
from kubeplay.connectors.base import Connector, ContainerState, LocalStreams, Terminal
from kubeplay.connectors.ssh import pump
from kubeplay.dataclass import dataclass
from kubeplay.model import Inventory
from tests.unit.fakes import Answer, FakeConnection
from tests.unit.test_reconcile import INVENTORY, MANIFESTS, connect_to

EXIT_OK, EXIT_ERROR, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 4, 5


@dataclass
class Shop:
    folder: Path
    conns: dict[str, FakeConnection]
    down: list[str]
    """Minions that cannot be reached from now on."""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """Two in-memory minions holding MANIFESTS applied (pod redis, two web replicas, service web)."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    conns = {name: FakeConnection(name) for name in ("m1", "m2")}
    for conn in conns.values():
        conn.fake_docker.images |= {"dockerfile/redis:latest", "kubeplay/httpd:latest"}
    down: list[str] = []

    def connector(
        inventory: Inventory, accept_new_host_keys: bool, timeout: float, warn: object, remember: object = None
    ) -> Connector:
        return connect_to(conns, down)

    monkeypatch.setattr(reconcile, "connector", connector)
    monkeypatch.setattr(early, "connector", connector)  # apply and delete start connecting early
    assert kp(tmp_path, "apply", "-f", str(tmp_path / "shop"), "--yes") == EXIT_OK
    return Shop(tmp_path, conns, down)


def kp(folder: Path, verb: str, *argv: str, inventory: str = "-i") -> int:
    """The command line ``kubeplay VERB --inventory FILE ARGV...`` (the inventory first: exec's command ends it)."""
    return main([verb, inventory, str(folder / "hosts.ini"), *argv])


def where(conns: dict[str, FakeConnection], container: str) -> FakeConnection:
    return next(c for c in conns.values() if any(h.config.name == container for h in c.fake_docker.held.values()))


def test_logs_prints_the_containers_lines_and_passes_tail_and_since_on(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, conns = shop.folder, shop.conns
    docker = where(conns, "kp_redis_redis").fake_docker
    docker.written["kp_redis_redis"] = ["Server initialized", "Ready to accept connections"]
    capsys.readouterr()
    assert kp(folder, "logs", "redis", "--tail", "1", "--since", "1h") == EXIT_OK
    assert capsys.readouterr().out == "Ready to accept connections\n"
    name, tail, since, follow = docker.log_requests[-1]
    assert (name, tail, follow) == ("kp_redis_redis", 1, False)
    assert since is not None and 3590 < time.time() - since < 3610


def test_logs_of_an_unknown_pod_fails_and_is_unknown_while_a_minion_is_down(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shop.folder
    assert kp(folder, "logs", "nope") == EXIT_ERROR
    assert "pod nope not found on any minion" in capsys.readouterr().err
    shop.down.append("m2")
    assert kp(folder, "logs", "nope") == EXIT_UNREACHABLE
    assert "m2 unreachable (connection refused): it may be there" in capsys.readouterr().err  # and why


def test_exec_runs_docker_exec_of_the_pods_container_and_returns_the_commands_exit_code(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, conns = shop.folder, shop.conns
    conn = where(conns, "kp_redis_redis")
    conn.answers = [Answer(exit_code=3)]
    container_id = conn.fake_docker.named("kp_redis_redis").id
    assert kp(folder, "exec", "redis", "--", "sh", "-c", "exit 3", inventory="--inventory") == 3
    argv, terminal = conn.attached[-1]
    assert (argv, terminal) == (("docker", "exec", container_id, "sh", "-c", "exit 3"), False)
    with open(os.devnull) as nothing:
        monkeypatch.setattr(sys, "stdin", nothing)
        assert kp(folder, "exec", "-i", "redis", "--", "cat", inventory="--inventory") == EXIT_OK
    argv, terminal = conn.attached[-1]
    assert (argv, terminal) == (("docker", "exec", "-i", container_id, "cat"), False)


def test_exec_names_the_containers_when_the_one_named_is_not_there(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, conns = shop.folder, shop.conns
    assert kp(folder, "exec", "redis", "-c", "nope", "--", "true", inventory="--inventory") == EXIT_ERROR
    assert "pod redis has no container 'nope'; its containers: redis" in capsys.readouterr().err
    assert all(c.attached == [] for c in conns.values())


def test_exec_without_a_command_is_a_usage_error(shop: Shop) -> None:
    folder = shop.folder
    with pytest.raises(SystemExit) as exited:
        kp(folder, "exec", "redis", inventory="--inventory")
    assert exited.value.code == EXIT_USAGE


def test_describe_pod_shows_its_minion_containers_and_runs(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    folder, conns = shop.folder, shop.conns
    conn = where(conns, "kp_redis_redis")
    conn.fake_docker.states["kp_redis_redis"] = ContainerState(
        "exited", 3, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", 2
    )
    capsys.readouterr()
    assert kp(folder, "describe", "pod", "redis") == EXIT_OK
    out = capsys.readouterr().out
    assert f"Minion:         {conn.minion.name}/{conn.address}" in out
    assert "Restarts:   2" in out and "Last exit:  3 at 2026-01-01T01:00:00Z" in out
    assert "Liveness:   none declared" in out


def test_describe_of_an_unknown_name_fails_clearly(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    folder = shop.folder
    assert kp(folder, "describe", "pod", "nope") == EXIT_ERROR
    assert "error: no pod named nope on the cluster" in capsys.readouterr().err
    assert kp(folder, "describe", "rc", "web") == EXIT_ERROR  # controllers live in the manifests
    assert "name them with -f" in capsys.readouterr().err
    assert kp(folder, "describe", "minion", "m9") == EXIT_ERROR
    assert "minion m9 is not in the inventory" in capsys.readouterr().err


def test_describe_rc_with_the_manifests_counts_its_replicas(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    folder = shop.folder
    manifests = folder / "shop" / "app.yaml"
    manifests.write_text(MANIFESTS.replace("replicas: 2", "replicas: 3"))
    capsys.readouterr()
    assert kp(folder, "describe", "rc", "web", "-f", str(manifests)) == EXIT_OK
    out = capsys.readouterr().out
    assert "Replicas:       3 desired, 2 live, 2 running" in out
    assert "Pending replicas:" in out and "not created yet: the next apply creates it" in out


def test_get_minions_lists_an_unreachable_minion_and_exits_4(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    folder, conns = shop.folder, shop.conns
    held = len({c.config.labels["kubeplay.pod"] for c in conns["m1"].fake_docker.held.values()})
    shop.down.append("m2")
    capsys.readouterr()
    assert kp(folder, "get", "nodes") == EXIT_UNREACHABLE
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["m1"][2:5] == ["yes", "no", str(held)] and rows["m2"][2:5] == ["no", "no", "?"]
    assert "m2 unreachable" in err


# --- argument types -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25)])
def test_since_takes_durations_as_kubectl_writes_them(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5d", "-5s", "0s", "5s junk", "s"])
def test_since_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(Exception, match="duration"):
        duration(text)


# --- the pump of an attached program -----------------------------------------------------------------------------


class StandInChannel:
    """What ``pump`` uses of a paramiko channel: output queued by the test, a pipe as its readiness fd."""

    def __init__(self, out: bytes, err: bytes, code: int) -> None:
        self.out, self.err, self.code = out, err, code
        self.sent = b""
        self.write_shut = False
        self.resized: list[tuple[int, int]] = []
        self.eof_received = True
        self.status_event = threading.Event()
        self._ready, self._signal = os.pipe()
        os.write(self._signal, b"x")

    def fileno(self) -> int:
        return self._ready

    def exit_status_ready(self) -> bool:
        return self.write_shut  # the program (cat-like) exits once its input ends

    def recv_ready(self) -> bool:
        return bool(self.out)

    def recv_stderr_ready(self) -> bool:
        return bool(self.err)

    def recv(self, size: int) -> bytes:
        data, self.out = self.out[:size], self.out[size:]
        return data

    def recv_stderr(self, size: int) -> bytes:
        data, self.err = self.err[:size], self.err[size:]
        return data

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown_write(self) -> None:
        self.write_shut = True

    def resize_pty(self, width: int, height: int) -> None:
        self.resized.append((width, height))

    def recv_exit_status(self) -> int:
        return self.code


def test_the_pump_passes_input_output_and_the_window_and_returns_the_exit_code() -> None:
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(stdin_w, b"typed\n")
    os.close(stdin_w)
    chan = StandInChannel(b"hello\n", b"oops\n", 7)
    sizes = iter([(80, 24), (100, 30)])
    terminal = Terminal("xterm", lambda: next(sizes, (100, 30)))
    code = pump(chan, LocalStreams(stdin_r, out_w, err_w), terminal)  # type: ignore[arg-type]
    assert code == 7
    assert chan.sent == b"typed\n" and chan.write_shut  # the local end of file ends the program's input
    assert chan.resized == [(100, 30)]
    assert os.read(out_r, 100) == b"hello\n" and os.read(err_r, 100) == b"oops\n"
