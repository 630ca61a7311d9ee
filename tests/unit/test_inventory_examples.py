"""The example inventories of inventory/ load, and kubeplay sees in them what their comments say; Ansible's own
``ansible-inventory --list`` sees the same hosts, groups and variables in them, in the lab's inventory and in the
inventories the unit tests use."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubeplay.connectors.ssh import SSHOptions
from kubeplay.dataclass import replace
from kubeplay.inventory import load_inventory
from kubeplay.lab.cluster import inventory_text
from kubeplay.lab.layout import layout
from kubeplay.model import Inventory
from kubeplay.reconcile import resolve_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "inventory"
TEST_DATA = Path(__file__).parent / "data" / "inventory"
GIB = 2**30


def _minions(inventory: Inventory) -> dict[str, tuple[object, ...]]:
    return {
        m.name: (m.host, m.port, m.user, m.labels, m.cpu, m.memory, m.cordoned, m.allow_privileged, m.host_paths)
        for m in inventory.minions
    }


def test_the_ini_example_is_what_its_comments_say() -> None:
    folder = EXAMPLES / "example-ini"
    inventory = load_inventory(str(folder / "hosts.ini"))
    hdd = {"disk": "hdd", "zone": "b"}
    assert _minions(inventory) == {
        "minion-1": ("192.168.56.11", 22, "root", {"disk": "ssd", "zone": "a"}, 0, 0, False, False, ()),
        "minion-2": ("192.168.56.12", 22, "root", {}, 0, 0, True, False, ()),
        "minion-3": ("192.168.57.13", 2222, "root", hdd, 8000, 16 * GIB, False, False, ()),
        "minion-4": ("10.1.0.14", 22, "root", hdd, 8000, 16 * GIB, False, True, ("/srv/data", "/var/log/shop")),
    }
    assert inventory.groups["minions"] == ("minion-1", "minion-2", "minion-3", "minion-4")
    assert inventory.groups["rack_b"] == ("minion-3", "minion-4")
    assert all(m.key_file == str(folder / "keys" / "deploy_ed25519") for m in inventory.minions)
    assert (inventory.portal_net, inventory.pod_network, inventory.infra_image) == ("10.254.0.0/16", True, "")
    assert resolve_project(None, inventory.vars, {}, []) == "shop"
    options = SSHOptions()
    for minion in inventory.minions:
        endpoint = options.endpoint(minion)
        assert endpoint.known_hosts == ("/etc/kubeplay/known_hosts",) and not endpoint.accept_new
        assert endpoint.timeout == 5
        hop = (endpoint.via.host, endpoint.via.user) if endpoint.via else None
        assert hop == (("bastion.example.com", "admin") if minion.name == "minion-4" else None)


def test_the_yaml_example_is_what_its_comments_say(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    inventory = load_inventory(str(EXAMPLES / "example-yaml" / "hosts.yml"))
    web = {"role": "web"}
    assert _minions(inventory) == {
        "web-1.example.com": ("web-1.example.com", 22, "root", web, 2000, 4 * GIB, False, False, ()),
        "web-2.example.com": ("web-2.example.com", 22, "root", web, 2000, 4 * GIB, False, False, ()),
        "web-3.example.com": ("web-3.example.com", 22, "root", web, 2000, 4 * GIB, False, False, ()),
        "db-1.example.com": (
            "db-1.example.com",
            2222,
            "root",
            {"role": "db", "disk": "ssd"},
            0,
            0,
            True,
            False,
            ("/srv/postgres",),
        ),
    }
    assert inventory.groups["minions"] == tuple(_minions(inventory))
    assert (inventory.portal_net, inventory.pod_network) == ("10.100.0.0/16", False)
    assert inventory.infra_image == "registry.example.com/kubeplay/pause:1"
    assert inventory.known_hosts == ""
    assert resolve_project(None, inventory.vars, {}, []) == "blog"
    for minion in inventory.minions:
        endpoint = SSHOptions().endpoint(minion)
        assert endpoint.known_hosts == ("/home/u/.ssh/kubeplay_known_hosts",) and endpoint.accept_new


def test_every_example_is_tested_here() -> None:
    assert sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("*/hosts.*")) == [
        "example-ini/hosts.ini",
        "example-yaml/hosts.yml",
    ]


def _lab_inventory(tmp_path: Path) -> Path:
    """The inventory `kubeplay lab up` writes, for a lab whose files are under tmp_path."""
    lab = replace(layout("t", 2, 5), state_dir=tmp_path)
    lab.ssh_key.write_text("placeholder\n")
    path = tmp_path / "lab.ini"
    path.write_text(inventory_text(lab))
    return path


def test_the_lab_inventory_names_its_known_hosts_the_ansible_way(tmp_path: Path) -> None:
    inventory = load_inventory(str(_lab_inventory(tmp_path)))
    assert [(m.name, m.host, m.user, m.key_file) for m in inventory.minions] == [
        ("minion-1", "10.77.5.11", "root", str(tmp_path / "id_ed25519")),
        ("minion-2", "10.77.5.12", "root", str(tmp_path / "id_ed25519")),
    ]
    assert "kubeplay_known_hosts" not in inventory.vars
    for minion in inventory.minions:
        endpoint = SSHOptions().endpoint(minion)
        assert endpoint.known_hosts == (str(tmp_path / "known_hosts"),) and not endpoint.accept_new


# --- as Ansible sees them ------------------------------------------------------------------------------------


def ansible_view(path: Path) -> tuple[dict[str, set[str]], dict[str, dict[str, Any]]]:
    """Groups (with their children's hosts, empty ones left out) and each host's variables, from
    ``ansible-inventory --list``."""
    if shutil.which("ansible-inventory") is None:
        pytest.fail("ansible-inventory is not installed: pip install -e '.[test]' (ansible-core)")
    run = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list"], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    listed = json.loads(run.stdout)
    hostvars = listed.pop("_meta")["hostvars"]

    def members(group: str) -> set[str]:
        body = listed.get(group, {})
        return set(body.get("hosts", ())).union(*(members(child) for child in body.get("children", ())))

    groups = {name: members(name) for name in listed}
    return {name: hosts for name, hosts in groups.items() if hosts}, {h: hostvars.get(h, {}) for h in groups["all"]}


def kubeplay_view(path: Path) -> tuple[dict[str, set[str]], dict[str, dict[str, Any]]]:
    inventory = load_inventory(str(path))
    magic = {"inventory_hostname", "group_names"}
    groups = {name: set(hosts) for name, hosts in inventory.groups.items() if hosts}
    return groups, {m.name: {k: v for k, v in m.vars.items() if k not in magic} for m in inventory.minions}


@pytest.mark.parametrize(
    "path",
    [
        EXAMPLES / "example-ini" / "hosts.ini",
        EXAMPLES / "example-yaml" / "hosts.yml",
        TEST_DATA / "cluster-ini" / "hosts.ini",
        TEST_DATA / "cluster-yaml" / "inventory.yml",
        TEST_DATA / "precedence" / "hosts",
    ],
    ids=lambda path: path.relative_to(ROOT).as_posix(),
)
def test_ansible_sees_the_same_hosts_groups_and_variables(path: Path) -> None:
    assert kubeplay_view(path) == ansible_view(path)


def test_ansible_sees_the_lab_inventory_as_kubeplay_does(tmp_path: Path) -> None:
    path = _lab_inventory(tmp_path)
    groups, hostvars = ansible_view(path)
    assert (groups, hostvars) == kubeplay_view(path)
    assert groups["minions"] == {"minion-1", "minion-2"}
    assert hostvars["minion-1"]["ansible_ssh_common_args"] == (
        f"-o UserKnownHostsFile={tmp_path / 'known_hosts'} -o StrictHostKeyChecking=yes"
    )
