"""The lab itself: real minions behind real SSH with host-key checking, each with its own dockerd, one registry."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from kubeplay.connectors.ssh import SSHConnection, SSHOptions
from kubeplay.dataclass import replace
from kubeplay.errors import ConnectionFailed
from kubeplay.inventory.load import load_inventory
from kubeplay.lab import host
from kubeplay.lab.layout import STATE_ROOT, layout
from tests.integration.conftest import Lab, kubeplay

pytestmark = pytest.mark.integration


def _connect(lab: Lab, index: int, known_hosts: tuple[str, ...] | None = None) -> SSHConnection:
    """A connection as the lab's inventory describes it (host keys from its UserKnownHostsFile), or, given
    ``known_hosts``, with the host keys of those files only (the inventory's ssh arguments left out)."""
    minion = load_inventory(str(lab.inventory)).minions[index]
    if known_hosts is None:
        return SSHConnection(minion, SSHOptions())
    return SSHConnection(replace(minion, ssh_arguments=()), SSHOptions(known_hosts=known_hosts))


def test_each_minion_answers_over_ssh_with_its_own_docker_daemon(lab: Lab) -> None:
    ids, subnets = set(), set()
    for i in range(lab.size):
        conn = _connect(lab, i)
        try:
            engine = conn.run(["docker", "info", "--format", "{{.ID}}"])
            assert engine.ok, engine.stderr
            ids.add(engine.stdout.strip())
            out = conn.run(["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Subnet}}"])
            assert out.ok, out.stderr
            subnets.add(out.stdout.strip())
            assert conn.docker().facts().bridge_subnet == out.stdout.strip()  # the SDK over SSH, the same daemon
            assert conn.address == lab.layout.minions[i].address
        finally:
            conn.close()
    assert len(ids) == lab.size, "every minion must have a docker daemon of its own"
    assert len(subnets) == lab.size, f"bridge subnets must be distinct: {subnets}"


def test_an_unknown_host_key_is_rejected(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(ConnectionFailed, match="not found in known_hosts"):
        conn = _connect(lab, 0, ())
        conn.close()


def test_a_changed_host_key_is_rejected(lab: Lab, tmp_path: Path) -> None:
    wrong = tmp_path / "known_hosts"
    other = (lab.layout.minions[1].state_dir / "ssh_host_ed25519_key.pub").read_text().split()
    wrong.write_text(f"{lab.layout.minions[0].address} {other[0]} {other[1]}\n")
    with pytest.raises(ConnectionFailed, match="CHANGED"):
        _connect(lab, 0, (str(wrong),)).close()


def test_an_image_pushed_to_the_lab_registry_is_pullable_from_every_minion(lab: Lab) -> None:
    tag = f"{lab.layout.registry}/kubeplay/test-{uuid.uuid4().hex[:8]}:v1"
    first = lab.docker(0)
    first.tag(f"{lab.layout.registry}/kubeplay/httpd:latest", tag)
    for line in first.push(tag, stream=True, decode=True):
        assert "error" not in line, line
    first.remove_image(tag)
    try:
        for i in range(lab.size):
            conn = _connect(lab, i)
            try:
                pulled = conn.run(["docker", "pull", "-q", tag])
                assert pulled.ok, pulled.stderr
                assert tag in conn.docker().facts().images
            finally:
                conn.close()
    finally:
        for i in range(lab.size):
            lab.docker(i).remove_image(tag, force=True)


def test_redis_image_is_preloaded_on_every_minion(lab: Lab) -> None:
    for i in range(lab.size):
        assert lab.docker(i).images(name="dockerfile/redis"), f"minion-{i + 1} lacks dockerfile/redis"


def test_lab_up_is_idempotent_and_lab_down_leaves_nothing_behind(lab: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "t2.ini"
    up = kubeplay("lab", "up", "--name", "t2", "--minions", "1", "--inventory", str(inventory))
    assert up.code == 0, up.stderr
    record = (STATE_ROOT / "t2" / "lab.json").read_text()
    again = kubeplay("lab", "up", "--name", "t2", "--minions", "1", "--inventory", str(inventory))
    assert again.code == 0, again.stderr
    assert (STATE_ROOT / "t2" / "lab.json").read_text() == record, "a second lab up must not start anything new"
    status = kubeplay("lab", "status", "--name", "t2")
    assert status.code == 0 and "minion-1" in status.stdout
    import json

    rec = json.loads(record)
    t2 = layout("t2", 1, rec["octet"])
    pids = rec["pids"]
    down = kubeplay("lab", "down", "--name", "t2")
    assert down.code == 0, down.stderr
    assert not host.netns_exists(t2.minions[0].netns)
    assert not host.link_exists(t2.bridge)
    assert not host.link_exists(t2.minions[0].veth_host)
    for name, pid in pids.items():
        assert not host.pid_alive(pid, ""), f"{name} (pid {pid}) still runs"
    assert not t2.state_dir.exists() and not t2.run_dir.exists()
    assert not inventory.exists()
    left = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=True).stdout
    assert t2.bridge not in left
    # the main lab was not touched
    assert lab.docker(0).version()["Version"]
