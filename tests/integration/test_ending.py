"""A run that stops on bad input while its connections made ahead are in their SSH handshake ends as it should:
exit 1 with the input error, nothing changed, never SIGABRT ("FATAL: exception not rethrown": the interpreter's
shutdown unwinding a thread inside cryptography's Rust code, cli/ending.py). The abort came now and then, so the
run is repeated."""

from __future__ import annotations

from pathlib import Path

from kubeplay.cli.exitcodes import EXIT_ERROR
from tests.integration.conftest import Lab, kubeplay
from tests.integration.test_projects import pod_json, pods

RUNS = 20


def test_bad_input_ends_with_its_error_every_time_while_the_connections_made_ahead_are_cut_short(
    lab: Lab, tmp_path: Path
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "cart.json").write_text(pod_json("cart"))
    assert kubeplay("apply", "-f", str(shop), "--yes", inventory=lab.inventory).code == 0
    before = pods(lab)
    (shop / "till.json").write_text('{"id": "till", "kind": "Pod",\n')
    ends = []
    for verb in ["apply", "delete"] * (RUNS // 2):
        run = kubeplay(verb, "-f", str(shop), "--yes", inventory=lab.inventory)
        ends.append((run.code, "FATAL" in run.stderr, f"{shop / 'till.json'}:2: invalid JSON" in run.stderr))
    assert ends == [(EXIT_ERROR, False, True)] * RUNS
    assert pods(lab) == before and set(before) == {"cart"}
