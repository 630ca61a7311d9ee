"""SSH as OpenSSH users expect, against the lab's real sshd on each minion: a changed or revoked host key is refused
as an error (exit 1) and nothing changes on that minion; ProxyJump goes through another minion with both host keys
checked; ~/.ssh/config and inventory problems are errors with file and line before anything connects."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT, SEED, Lab, Run


def kubeplay_at_home(home: Path, *args: str) -> Run:
    """The CLI as a user whose home (~/.ssh/config, ~/.ssh/known_hosts) is ``home``."""
    proc = subprocess.run(
        [sys.executable, "-m", "kubeplay.cli", *args],
        cwd=ROOT,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def openssh_fingerprint(known_hosts_line: str) -> str:
    blob = base64.b64decode(known_hosts_line.split()[-1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def lab_keys(lab: Lab) -> dict[str, str]:
    """Each minion's address -> its line in the lab's known_hosts."""
    lines = lab.layout.known_hosts.read_text().splitlines()
    return {line.split()[0]: line for line in lines if line.strip()}


def setup(tmp_path: Path, lab: Lab, known_hosts: str, minions: int = 2) -> tuple[Path, Path]:
    """An empty home, and an inventory of the first ``minions`` lab minions checked against ``known_hosts``."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts)
    hosts = "".join(f"{m.name} ansible_host={m.address}\n" for m in lab.layout.minions[:minions])
    inventory = tmp_path / "inv.ini"
    inventory.write_text(
        f"[minions]\n{hosts}\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file={lab.layout.ssh_key}\n"
        f"kubeplay_known_hosts={known}\n"
    )
    return home, inventory


def test_a_changed_host_key_is_an_error_naming_both_fingerprints_and_nothing_changes_there(
    lab: Lab, tmp_path: Path
) -> None:
    first, second = lab.layout.minions[0], lab.layout.minions[1]
    keys = lab_keys(lab)
    impostor = keys[second.address].replace(second.address, first.address, 1)
    home, inventory = setup(tmp_path, lab, f"# minions\n{impostor}\n{keys[second.address]}\n")
    run = kubeplay_at_home(home, "apply", "-f", str(SEED / "redis.json"), "--yes", "-i", str(inventory))
    assert run.code == 1, run.stdout + run.stderr
    assert "CHANGED" in run.stderr and f"{first.name} unreachable" not in run.stderr
    assert openssh_fingerprint(keys[first.address]) in run.stderr, "the key the minion presents"
    assert openssh_fingerprint(impostor) in run.stderr, "the key known_hosts holds for it"
    assert f"{tmp_path / 'known_hosts'}:2" in run.stderr
    recap = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines() if line.startswith("minion-")}
    assert recap[first.name] == ["0", "0", "1", "0"], "failed, not unreachable"
    containers = lab.kubeplay_containers()
    assert containers[first.name] == [], "nothing is done on a minion whose key changed"
    assert containers[second.name], "the other minion is applied"


def test_a_revoked_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    first = lab.layout.minions[0]
    keys = lab_keys(lab)
    revoked = "@revoked * " + " ".join(keys[first.address].split()[1:])
    home, inventory = setup(tmp_path, lab, "\n".join([*keys.values(), revoked]) + "\n")
    run = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert run.code == 1, run.stdout + run.stderr
    assert f"{first.name}: {first.address} presents the REVOKED host key" in run.stderr
    assert f"{tmp_path / 'known_hosts'}:{len(keys) + 1}" in run.stderr


def test_cert_authority_lines_are_skipped_with_a_warning(lab: Lab, tmp_path: Path) -> None:
    keys = lab_keys(lab)
    authority = "@cert-authority *.lab " + " ".join(next(iter(keys.values())).split()[1:])
    home, inventory = setup(tmp_path, lab, "\n".join([authority, *keys.values()]) + "\n")
    run = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert run.code == 0, run.stderr
    assert run.stderr.count("@cert-authority") == 1


def test_proxyjump_goes_through_another_minion_and_checks_both_host_keys(lab: Lab, tmp_path: Path) -> None:
    jump, target = lab.layout.minions[0], lab.layout.minions[1]
    keys = lab_keys(lab)
    home, inventory = setup(tmp_path, lab, "\n".join(keys.values()) + "\n", minions=0)
    inventory.write_text(f"[minions]\nbehind ansible_host={target.address}\n" + inventory.read_text())
    (home / ".ssh" / "config").write_text(
        f"Host {target.address}\n  ProxyJump root@{jump.address}\n\nHost *\n  IdentityFile {lab.layout.ssh_key}\n"
    )
    through = kubeplay_at_home(home, "apply", "-f", str(SEED / "redis.json"), "--yes", "-i", str(inventory))
    assert through.code == 0, through.stdout + through.stderr
    assert lab.kubeplay_containers()[target.name], "the pod was created on the minion behind the jump host"

    (tmp_path / "known_hosts").write_text(keys[target.address] + "\n")
    unknown_jump = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert unknown_jump.code == 4, unknown_jump.stderr
    assert f"host key of {jump.address} (ssh-ed25519" in unknown_jump.stderr
    assert "not found in known_hosts" in unknown_jump.stderr

    impostor = keys[jump.address].replace(jump.address, target.address, 1)
    (tmp_path / "known_hosts").write_text(f"{keys[jump.address]}\n{impostor}\n")
    changed_target = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert changed_target.code == 1, changed_target.stderr
    assert f"host key of {target.address} CHANGED" in changed_target.stderr

    (home / ".ssh" / "config").write_text(
        f"Host {target.address}\n  ProxyJump none\n  ProxyJump root@{jump.address}\n\nHost *\n  ProxyJump nowhere\n"
        f"  IdentityFile {lab.layout.ssh_key}\n"
    )
    (tmp_path / "known_hosts").write_text(keys[target.address] + "\n")
    direct = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert direct.code == 0, "ProxyJump none: connected directly, the jump host's key is not needed"


def test_ssh_config_problems_stop_the_run_with_file_and_line_before_connecting(lab: Lab, tmp_path: Path) -> None:
    home, inventory = setup(tmp_path, lab, "\n".join(lab_keys(lab).values()) + "\n")
    config = home / ".ssh" / "config"
    config.write_text("Host *\n  User root\n  Port abc\n")
    bad_port = kubeplay_at_home(home, "apply", "-f", str(SEED / "redis.json"), "--yes", "-i", str(inventory))
    assert bad_port.code == 1 and f"{config}:3: Port 'abc' is not a port number" in bad_port.stderr
    config.write_text("Host *\n  ProxyCommand /nonexistent/bin/proxy %h %p\n")
    missing = kubeplay_at_home(home, "get", "pods", "-i", str(inventory))
    assert missing.code == 1 and f"{config}:2" in missing.stderr
    assert "ProxyCommand program '/nonexistent/bin/proxy' not found" in missing.stderr
    config.write_text("Host *\n  ProxyCommand none\n")
    assert kubeplay_at_home(home, "get", "pods", "-i", str(inventory)).code == 0
    assert all(not found for found in lab.kubeplay_containers().values())


def test_validate_finds_a_missing_key_file_and_a_bad_ansible_host(lab: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.ini"
    inventory.write_text(
        "[minions]\nm1 ansible_host=10.77.0.1 ansible_ssh_private_key_file=keys/gone\n"
        "m2 ansible_host='10.77.0.2 -oProxyCommand=x'\n"
    )
    run = kubeplay_at_home(tmp_path, "validate", "-f", str(SEED / "redis.json"), "-i", str(inventory))
    assert run.code == 1
    assert f"{inventory}:2: host m1: ansible_ssh_private_key_file: the private key file" in run.stderr
    assert f"{inventory}:3: host m2: ansible_host: '10.77.0.2 -oProxyCommand=x'" in run.stderr
