"""Ansible itself uses the lab's inventory, with host key checking on, and trusts the same keys kubeplay trusts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import Lab, kubeplay
from tests.unit.test_inventory_examples import ansible_view, kubeplay_view

pytestmark = pytest.mark.integration


def ansible(inventory: Path, tmp_path: Path, run: str) -> subprocess.CompletedProcess[str]:
    """``ansible -i INVENTORY minions -m ping`` as a user types it, with Ansible's defaults (host key checking
    on), its connection sockets and temporary files under tmp_path/run, so no earlier connection is reused."""
    if shutil.which("ansible") is None:
        pytest.fail("ansible is not installed: pip install -e '.[test]' (ansible-core)")
    home = tmp_path / run
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environ |= {
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = ["ansible", "-i", str(inventory), "minions", "-m", "ping"]
    return subprocess.run(argv, cwd=home, env=environ, capture_output=True, text=True, timeout=300, check=False)


def test_ansible_pings_every_minion_through_the_lab_inventory_checking_host_keys(lab: Lab, tmp_path: Path) -> None:
    run = ansible(lab.inventory, tmp_path, "good")
    assert run.returncode == 0, run.stdout + run.stderr
    for minion in lab.layout.minions:
        assert f"{minion.name} | SUCCESS" in run.stdout, run.stdout
    assert run.stdout.count('"ping": "pong"') == lab.size, run.stdout

    unknown = tmp_path / "empty_known_hosts"
    unknown.write_text("")
    inventory = tmp_path / "unknown.ini"
    inventory.write_text(lab.inventory.read_text().replace(str(lab.layout.known_hosts), str(unknown)))
    refused = ansible(inventory, tmp_path, "bad")
    assert refused.returncode != 0
    for minion in lab.layout.minions:
        assert f"{minion.name} | UNREACHABLE!" in refused.stdout, refused.stdout
    assert "Host key verification failed" in refused.stdout
    same = kubeplay("get", "pods", inventory=inventory)
    assert same.code == 4, same.stderr
    assert same.stderr.count("not found in known_hosts") == lab.size, same.stderr


def test_ansible_inventory_sees_the_running_labs_inventory_as_kubeplay_does(lab: Lab) -> None:
    groups, hostvars = ansible_view(lab.inventory)
    assert (groups, hostvars) == kubeplay_view(lab.inventory)
    assert groups["minions"] == {m.name for m in lab.layout.minions}
