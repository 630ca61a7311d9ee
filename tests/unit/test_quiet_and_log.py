"""For cron: -q/-v/-vv and --log-file through the command line, on in-memory minions; apply --every's loop."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pytest

from kubeplay import reconcile
from kubeplay.cli import early, main, runlog
from kubeplay.cli.exitcodes import EXIT_INTERRUPTED
from kubeplay.cli.loop import every
from kubeplay.connectors.base import Connector
from kubeplay.connectors.kept import KeptConnections
from kubeplay.errors import ConnectionFailed, InputError, MinionError, Problem
from kubeplay.model import Inventory, Minion
from tests.unit.fakes import FakeConnection
from tests.unit.test_reconcile import INVENTORY, MANIFESTS, connect_to


def schema(name: str) -> dict[str, Any]:
    """A JSON Schema as the package ships it."""
    found: dict[str, Any] = json.loads((resources.files("kubeplay") / "schemas" / name).read_text())
    return found


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return folder


@pytest.fixture
def minions(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeConnection]:
    """The minions every command of the test connects to."""
    conns = {name: FakeConnection(name) for name in ("m1", "m2")}
    for conn in conns.values():
        conn.fake_docker.images |= {"dockerfile/redis:latest", "kubeplay/httpd:latest"}

    def connector(
        inventory: Inventory, accept_new_host_keys: bool, timeout: float, warn: object, remember: object = None
    ) -> Connector:
        return connect_to(conns)

    monkeypatch.setattr(reconcile, "connector", connector)
    monkeypatch.setattr(early, "connector", connector)  # apply and delete start connecting early
    return conns


def apply(shop: Path, *options: str) -> int:
    return main(["apply", "-f", str(shop), "-i", str(shop.parent / "hosts.ini"), "--yes", *options])


def test_quiet_prints_the_changes_and_nothing_at_all_once_converged(
    shop: Path, minions: dict[str, FakeConnection], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(shop, "-q") == 0
    out, err = capsys.readouterr()
    assert "PLAN" in out and out.count("create") == 3
    assert "RECAP" not in out and "kubeplay:" not in err and "note:" not in err

    assert apply(shop, "-q") == 0
    assert capsys.readouterr() == ("", "")  # cron mails nothing


def test_quiet_still_shows_errors(
    shop: Path, minions: dict[str, FakeConnection], capsys: pytest.CaptureFixture[str]
) -> None:
    for conn in minions.values():
        conn.fake_docker.fail("create", "kp_redis_redis", "image is broken")
    assert apply(shop, "-q") == 1
    err = capsys.readouterr().err
    assert "create redis: image is broken" in err and "kubeplay:" not in err


def test_each_level_adds_its_detail(
    shop: Path, minions: dict[str, FakeConnection], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(shop) == 0
    out, err = capsys.readouterr()
    assert "RECAP" in out and "kubeplay: observing 2 minions" in err
    assert "observed in" not in err and "docker create" not in err

    assert apply(shop, "-v") == 0
    out, err = capsys.readouterr()
    assert "nothing to change" in out
    assert "kubeplay: observed in" in err
    held = [re.fullmatch(r"kubeplay: m\d: (\d+) pods, (\d+) containers", line) for line in err.splitlines()]
    assert [sum(int(m[i]) for m in held if m) for i in (1, 2)] == [3, 6]  # what each minion holds
    assert "docker containers" not in err

    for conn in minions.values():  # one pod changed by hand: -vv shows the Docker calls that repair it
        conn.fake_docker.held.clear()
    assert apply(shop, "-vv") == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert any(line.startswith("kubeplay: m1: docker containers kubeplay.pod: ") for line in lines)
    assert any(line.startswith("kubeplay: m1: run sh -c 'iptables-save") for line in lines)
    creates = [line for line in lines if " docker create kp_" in line]
    assert len(creates) == 6 and all(line.rstrip().endswith(" s") for line in creates)  # infra + app, 3 pods
    assert any(re.fullmatch(r"kubeplay: m1: create web-\w+ took \d+\.\d\d s", line) for line in lines)  # as -v


def log_lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    validator = jsonschema.Draft202012Validator(schema("log.schema.json"))
    for line in lines:
        validator.validate(line)
    return lines


def test_the_log_file_gets_one_valid_json_line_per_event_appended_run_after_run(
    shop: Path, minions: dict[str, FakeConnection], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "kubeplay.log"
    assert apply(shop, "--log-file", str(log)) == 0
    first = log_lines(log)
    start, *events, end = first
    assert start["event"] == "run-start" and start["project"] == "shop" and start["schema"] == 1
    assert start["command"][:2] == ["kubeplay", "apply"] and "--log-file" in start["command"]
    assert {line["run"] for line in first} == {start["run"]}
    actions = [e for e in events if e["event"] == "action"]
    creates = [e for e in actions if e["verb"] == "create"]
    assert len(creates) == 3 and all(e["result"] == "ok" and e["seconds"] >= 0 for e in actions)
    writes = [e for e in events if e["event"] == "network"]
    assert sorted((w["minion"], w["what"]) for w in writes) == [
        (m, what) for m in ("m1", "m2") for what in ("proxy rules", "proxy rules (services first)")
    ]
    # the service's rules before any pod, the new pods' endpoints after them all
    order = [e["event"] if e["event"] != "network" else e["what"] for e in events]
    assert order == sorted(order, key=["proxy rules (services first)", "action", "proxy rules"].index)
    assert end["event"] == "run-end" and end["exit"] == 0
    assert end["counts"]["changed"] == len(actions) + len(writes) and end["counts"]["failed"] == 0

    (shop / "app.yaml").write_text(MANIFESTS.replace("replicas: 2", "replicas: -1"))
    assert apply(shop, "--log-file", str(log)) == 1
    second = log_lines(log)[len(first) :]
    assert [line["event"] for line in second] == ["run-start", "run-end"]
    assert second[0]["run"] != start["run"] and second[1]["exit"] == 1 and "replicas" in second[1]["error"]


def test_nothing_is_logged_after_run_end_as_workers_still_at_work_after_ctrl_c_would(tmp_path: Path) -> None:
    path = tmp_path / "kubeplay.log"
    with pytest.raises(KeyboardInterrupt), runlog.opened(str(path), ["kubeplay", "apply"], "shop") as log:
        log.write("action", minion="m1", verb="create", subject="pod web")
        raise KeyboardInterrupt
    log.write("action", minion="m2", verb="create", subject="pod db")  # a worker, after the run's end: no error
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["run-start", "action", "run-end"]
    assert lines[-1]["exit"] == EXIT_INTERRUPTED and lines[1]["minion"] == "m1"

    kept = runlog.RunLog(path.open("a", encoding="utf-8"))
    kept.end(0, 1.0)
    kept.write("action", minion="m3", verb="create", subject="pod cache")  # before the file is closed, too
    kept.close()
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()][3:] == ["run-end"]


def test_apply_json_output_carries_its_schema_version_and_matches_the_schema(
    shop: Path, minions: dict[str, FakeConnection], capsys: pytest.CaptureFixture[str]
) -> None:
    for conn in minions.values():
        conn.fake_docker.fail("create", "kp_redis_redis", "image is broken")
    assert apply(shop, "-o", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(schema("apply.schema.json")).validate(doc)
    assert doc["schema"] == 1 and [r["ok"] for r in doc["results"]].count(False) == 1
    assert set(doc) <= set(schema("apply.schema.json")["properties"])  # the schema describes every field


# --- apply --every --------------------------------------------------------------------------------------------


def loop_args(log: Path) -> argparse.Namespace:
    return argparse.Namespace(
        every=0.01, output="text", log_file=str(log), filename=["shop/"], command_line=["kubeplay", "apply"]
    )


def test_the_loop_goes_on_after_a_bad_round_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "loop.log"
    rounds: list[int] = []

    def apply_once(
        args: argparse.Namespace, on_event: reconcile.EventSink, kept: KeptConnections, stopping: object
    ) -> tuple[reconcile.Inputs, reconcile.Outcome | None]:
        rounds.append(len(rounds) + 1)
        if len(rounds) == 2:
            raise InputError([Problem("shop/app.yaml", "a bad edit", line=3)])
        if len(rounds) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # as systemd stops the unit, in the middle of a round
            return reconcile.load([], str(tmp_path / "hosts.ini"), {}, None), None
        raise ConnectionFailed("m1", "every minion is down")

    (tmp_path / "hosts.ini").write_text(INVENTORY)
    before = signal.getsignal(signal.SIGTERM)
    assert every(loop_args(log), apply_once) == 0
    assert signal.getsignal(signal.SIGTERM) == before
    assert rounds == [1, 2, 3]
    lines = log_lines(log)
    assert [(line["event"], line.get("round")) for line in lines] == [
        ("run-start", None),
        *((kind, n) for n in (1, 2, 3) for kind in ("round-start", "round-end")),
        ("run-end", None),
    ]
    ends = [line for line in lines if line["event"] == "round-end"]
    assert [e["exit"] for e in ends] == [1, 1, 0] and "a bad edit" in ends[1]["error"]
    assert ends[2]["counts"] == {"stopped": 1}
    assert lines[-1]["exit"] == 0 and lines[-1]["counts"]["rounds"] == 3 and lines[-1]["counts"]["failed"] == 2


def test_a_second_ctrl_c_ends_the_loop_even_when_a_cleanup_fails_as_it_unwinds_the_round(tmp_path: Path) -> None:
    rounds: list[int] = []

    def interrupted_round() -> NoReturn:
        try:
            raise KeyboardInterrupt  # (the second Ctrl-C, in the middle of the round)
        finally:
            raise MinionError("m1", "lock: the lock program ended without an answer")  # (as the round is left)

    def apply_once(*args: Any) -> tuple[reconcile.Inputs, reconcile.Outcome | None]:
        rounds.append(len(rounds) + 1)
        if len(rounds) == 1:
            interrupted_round()
        os.kill(os.getpid(), signal.SIGTERM)  # (the loop went on: it is stopped)
        return reconcile.load([], str(tmp_path / "hosts.ini"), {}, None), None

    (tmp_path / "hosts.ini").write_text(INVENTORY)
    with pytest.raises(MinionError) as raised:
        every(loop_args(tmp_path / "loop.log"), apply_once)
    assert isinstance(raised.value.__context__, KeyboardInterrupt)
    assert rounds == [1]  # (not taken for a failed round, after which the loop went on)
    assert log_lines(tmp_path / "loop.log")[-1]["exit"] == EXIT_INTERRUPTED


class Dropping(FakeConnection):
    """A connection whose transport can die."""

    dead = False
    closes = 0

    def run(self, argv: Any, stdin: bytes | None = None, timeout: float = 60) -> Any:
        if self.dead:
            raise ConnectionFailed(self.minion.name, "connection reset")
        return super().run(argv, stdin, timeout)

    def close(self) -> None:
        self.closes += 1


@pytest.fixture
def kept() -> Iterator[KeptConnections]:
    pool = KeptConnections()
    yield pool
    pool.close()


def test_kept_connections_are_reused_made_again_when_they_drop_and_closed_at_the_end(
    kept: KeptConnections,
) -> None:
    made: list[Dropping] = []

    def connect(minion: Minion) -> Dropping:
        if minion.name == "down":
            raise ConnectionFailed(minion.name, "refused")
        made.append(Dropping(minion.name))
        return made[-1]

    m1 = Minion("m1", "10.0.0.1")
    first = kept.through(connect)(m1)
    first.close()  # the round ends
    assert made[0].closes == 0
    kept.through(connect)(m1).run(["true"])
    assert len(made) == 1  # the next round reuses it
    made[0].dead = True
    kept.through(connect)(m1)
    assert len(made) == 2 and made[0].closes == 1  # dropped: made again
    kept.drop(["m1"])
    assert made[1].closes == 1 and kept.minions == []
    with pytest.raises(ConnectionFailed):
        kept.through(connect)(Minion("down", "10.0.0.9"))
    kept.through(connect)(m1)
    kept.keep_only([Minion("m1", "10.0.0.2")])  # its address changed in the inventory
    assert made[2].closes == 1 and kept.minions == []
