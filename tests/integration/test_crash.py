"""Crash safety on the lab (issue 9, item 4): `kubeplay apply` killed with SIGKILL at twenty moments of a cold apply,
a scale-down, a rolling update and a proxy sync; after each, ONE apply exits 0 and leaves exactly the desired pods
(count and template hash), no container outside a whole pod, no leftover emptyDir volume, and proxy rules a third
apply with --detailed-exitcode finds nothing to change in. The scenarios are in kills.py (shared with the bench).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Lab
from tests.integration.kills import KILLS, KillLab

pytestmark = pytest.mark.integration


def test_one_apply_after_a_kill_at_any_of_twenty_moments_converges_exactly(lab: Lab, tmp_path: Path) -> None:
    runs = KillLab(lab.inventory, [m.docker_host for m in lab.layout.minions], tmp_path)
    recoveries = list(runs.run(KILLS))
    assert len(recoveries) == 20
    failed = [
        f"{r.kill}: apply exited {r.code}, then --detailed-exitcode {r.check_code}; {list(r.problems)}\n{r.said}"
        for r in recoveries
        if not r.converged
    ]
    assert failed == []
    not_killed = [str(r.kill) for r in recoveries if not r.killed and isinstance(r.kill.moment, str)]
    assert not_killed == [], "every KUBEPLAY_FAULT moment falls inside its apply"
    runs.clean()
