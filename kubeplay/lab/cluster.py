"""`kubeplay lab up|status|down`: a real multi-minion cluster on this Linux machine.

Each minion is a network namespace on one host bridge, with its own sshd and its own dockerd. A local registry
(Debian's docker-registry) listens on the bridge and every minion trusts it. Everything the lab creates is
recorded in its state folder (lab.json) so that `down` removes exactly that and nothing else.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubeplay.dataclass import dataclass
from kubeplay.errors import LabError
from kubeplay.lab import host
from kubeplay.lab.images import ImageSpec, guestbook_frontend_image, httpd_image, redis_image, redis_slave_image
from kubeplay.lab.layout import (
    GUESTBOOK_FRONTEND_IMAGE,
    HTTPD_IMAGE,
    REDIS_IMAGE,
    REDIS_SLAVE_IMAGE,
    REGISTRY_PORT,
    STATE_ROOT,
    LabLayout,
    MinionLayout,
    check_name,
    layout,
)
from kubeplay.parallel import Say

# program -> Debian package that provides it
REQUIRED_PROGRAMS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "iptables": "iptables",
    "docker-registry": "docker-registry",
    "busybox": "busybox-static",
    "redis-server": "redis-server",
}
PROGRAM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
LEGACY_IPTABLES = {
    f"{family}{suffix}": f"/usr/sbin/{family}-legacy{suffix}"
    for family in ("iptables", "ip6tables")
    for suffix in ("", "-save", "-restore")
}
"""The minions' iptables backend: legacy (nf_tables loads kube-proxy-sized rulesets ~15x slower). dockerd and
every SSH session find these names first on their PATH, so Docker's rules and kubeplay's share one backend."""
INVENTORY_HEADER = "# Written by `kubeplay lab up`"


def _which(program: str) -> str | None:
    return shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), *PROGRAM_DIRS]))


def missing_packages() -> list[str]:
    missing = {pkg for prog, pkg in REQUIRED_PROGRAMS.items() if _which(prog) is None}
    if not Path("/bin/busybox").exists():
        missing.add("busybox-static")
    return sorted(missing)


def ensure_packages(say: Say) -> None:
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs these Debian packages, which are missing: "
            + " ".join(missing)
            + "\nrun as root to let kubeplay install them, or: apt-get install -y "
            + " ".join(missing)
        )
    say("installing Debian packages: " + " ".join(missing))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LabError(f"{' '.join(argv)} failed:\n{proc.stderr.strip()}")


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces and daemons: run `kubeplay lab` as root")


# --- the record of what a lab created -------------------------------------------------------------------------


@dataclass
class Record:
    name: str
    octet: int
    minions: int
    pids: dict[str, int]
    """"minion-1/sshd" -> pid, "minion-1/dockerd" -> pid, "registry" -> pid."""
    inventory: str
    host_forward_rule: bool

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n")

    @staticmethod
    def load(path: Path) -> Record | None:
        if not path.exists():
            return None
        return Record(**json.loads(path.read_text()))


def _free_octet(name: str) -> int:
    used = set()
    if STATE_ROOT.exists():
        for other in STATE_ROOT.iterdir():
            rec = Record.load(other / "lab.json")
            if rec and rec.name != name:
                used.add(rec.octet)
    return next(o for o in range(0, 255) if o not in used)


def current(name: str) -> tuple[LabLayout, Record] | None:
    check_name(name)
    rec = Record.load(STATE_ROOT / name / "lab.json")
    if rec is None:
        return None
    return layout(name, rec.minions, rec.octet), rec


# --- up -------------------------------------------------------------------------------------------------------


def up(name: str, minions: int, inventory: str, say: Say) -> LabLayout:
    """Bring the lab up, or repair the parts of a running one that are missing. Never duplicates anything."""
    ensure_packages(say)
    _require_root()
    found = current(name)
    if found and found[1].minions != minions:
        raise LabError(
            f"lab {name!r} is running with {found[1].minions} minions; run `kubeplay lab down` first to change it"
        )
    octet = found[1].octet if found else _free_octet(name)
    lab = layout(name, minions, octet)
    rec = found[1] if found else Record(name, octet, minions, {}, str(Path(inventory).resolve()), False)
    rec.inventory = str(Path(inventory).resolve())
    lab.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    rec.save(lab.record)

    _ssh_key(lab)
    _bridge(lab, rec, say)
    for m in lab.minions:
        _netns(lab, m, say)
    _legacy_iptables(lab)
    with ThreadPoolExecutor(max_workers=len(lab.minions) + 1) as pool:
        list(pool.map(lambda m: _daemons(lab, m, rec, say), lab.minions))
    _registry(lab, rec, say)
    rec.save(lab.record)
    _known_hosts(lab)
    _images(lab, say)
    _write_inventory(lab, Path(inventory))
    rec.save(lab.record)
    return lab


def _ssh_key(lab: LabLayout) -> None:
    if not lab.ssh_key.exists():
        host.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kubeplay-lab-{lab.name}", "-f", str(lab.ssh_key)]
        )
    (lab.state_dir / "authorized_keys").write_text(lab.ssh_key.with_suffix(".pub").read_text())


def _bridge(lab: LabLayout, rec: Record, say: Say) -> None:
    if not host.link_exists(lab.bridge):
        say(f"bridge {lab.bridge} {lab.gateway}/24")
        host.run(["ip", "link", "add", lab.bridge, "type", "bridge"])
    addrs = host.run(["ip", "-4", "-o", "addr", "show", "dev", lab.bridge])
    if f" {lab.gateway}/24 " not in addrs:
        host.run(["ip", "addr", "add", f"{lab.gateway}/24", "dev", lab.bridge])
    host.run(["ip", "link", "set", lab.bridge, "up"])
    # When br_netfilter is loaded and FORWARD's policy is DROP (a host dockerd does both), traffic between the
    # minions on the bridge is dropped silently: accept it explicitly.
    rule = ["FORWARD", "-i", lab.bridge, "-o", lab.bridge, "-j", "ACCEPT"]
    if not _rule_present(rule):
        host.run(["iptables", "-w", "-I", *rule])
    rec.host_forward_rule = True


def _rule_present(rule: list[str]) -> bool:
    return subprocess.run(["iptables", "-w", "-C", *rule], capture_output=True, check=False).returncode == 0


def _netns(lab: LabLayout, m: MinionLayout, say: Say) -> None:
    if not host.netns_exists(m.netns):
        say(f"{m.name}: network namespace {m.netns} {m.address}")
        host.run(["ip", "netns", "add", m.netns])
    if not host.link_exists(m.veth_host):
        host.run(["ip", "link", "add", m.veth_host, "type", "veth", "peer", "name", "eth0", "netns", m.netns])
    host.run(["ip", "link", "set", m.veth_host, "master", lab.bridge, "up"])

    def ns(*argv: str) -> str:
        return host.run(host.in_netns(m.netns, argv))

    if f" {m.address}/24 " not in ns("ip", "-4", "-o", "addr", "show", "dev", "eth0"):
        ns("ip", "addr", "add", f"{m.address}/24", "dev", "eth0")
    ns("ip", "link", "set", "eth0", "up")
    ns("ip", "link", "set", "lo", "up")
    ns("ip", "route", "replace", "default", "via", lab.gateway)


def _sshd_config(lab: LabLayout, m: MinionLayout) -> Path:
    key = m.state_dir / "ssh_host_ed25519_key"
    if not key.exists():
        host.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", m.name, "-f", str(key)])
    config = m.state_dir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {m.address}",
                f"HostKey {key}",
                f"PidFile {m.run_dir / 'sshd.pid'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                f"AuthorizedKeysFile {lab.state_dir / 'authorized_keys'}",
                f"SetEnv DOCKER_HOST={m.docker_host} PATH={_minion_path(lab)}",
                "MaxSessions 100",
                "MaxStartups 100:30:200",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    return config


def _daemons(lab: LabLayout, m: MinionLayout, rec: Record, say: Say) -> None:
    m.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    m.run_dir.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    config = _sshd_config(lab, m)
    key = f"{m.name}/sshd"
    if not host.pid_alive(rec.pids.get(key, 0), str(config)):
        say(f"{m.name}: sshd on {m.address}:22")
        argv = ["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(m.state_dir / "sshd.log")]
        rec.pids[key] = host.start_daemon(host.in_netns(m.netns, argv), m.state_dir / "sshd.out")
    key = f"{m.name}/dockerd"
    if not host.pid_alive(rec.pids.get(key, 0), str(m.docker_socket)):
        say(f"{m.name}: dockerd, pod subnet {m.pod_subnet}")
        argv = [
            "env",
            f"PATH={_minion_path(lab)}",
            "dockerd",
            f"--data-root={m.state_dir / 'docker'}",
            f"--exec-root={m.run_dir / 'exec'}",
            f"--host={m.docker_host}",
            f"--pidfile={m.run_dir / 'docker.pid'}",
            f"--bip={m.pod_subnet}",
            f"--insecure-registry={lab.registry}",
            "--storage-driver=overlay2",
            "--shutdown-timeout=2",
            # hairpin mode on every container's bridge port, so a pod reaches its own service (what kubelet's
            # --hairpin-mode did): without it the bridge drops the DNATed packet going back out its own port
            "--userland-proxy=false",
            f"--config-file={_daemon_config(m)}",
        ]
        rec.pids[key] = host.start_daemon(host.in_netns(m.netns, argv), m.state_dir / "dockerd.log")
    host.wait_for(f"{m.name}: sshd on {m.address}:22", lambda: _port_open(m.address, 22), 15)
    host.wait_for(f"{m.name}: dockerd ({m.state_dir / 'dockerd.log'})", lambda: _docker_ok(m), 60)


def _minion_path(lab: LabLayout) -> str:
    return os.pathsep.join([str(lab.state_dir / "bin"), *PROGRAM_DIRS])


def _legacy_iptables(lab: LabLayout) -> None:
    """The PATH folder that makes `iptables` mean iptables-legacy for a minion's dockerd and SSH sessions."""
    folder = lab.state_dir / "bin"
    folder.mkdir(exist_ok=True)
    for name, target in LEGACY_IPTABLES.items():
        link = folder / name
        if not link.is_symlink() or os.readlink(link) != target:
            link.unlink(missing_ok=True)
            link.symlink_to(target)


def _daemon_config(m: MinionLayout) -> Path:
    config = m.state_dir / "daemon.json"
    # The engine ID comes from this key; the default /etc/docker/key.json would give every minion the same ID.
    config.write_text(json.dumps({"deprecated-key-path": str(m.state_dir / "key.json")}) + "\n")
    return config


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker(m: MinionLayout, *args: str, stdin: bytes | None = None, check: bool = True) -> str:
    docker = _which("docker") or "docker"
    return host.run([docker, "-H", m.docker_host, *args], stdin=stdin, check=check)


def _docker_ok(m: MinionLayout) -> bool:
    if not m.docker_socket.exists():
        return False
    proc = subprocess.run(
        [_which("docker") or "docker", "-H", m.docker_host, "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def _registry(lab: LabLayout, rec: Record, say: Say) -> None:
    config = lab.state_dir / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {lab.state_dir / 'registry'}\n"
        f"http:\n  addr: {lab.registry}\n"
    )
    if not host.pid_alive(rec.pids.get("registry", 0), str(config)):
        say(f"registry on {lab.registry}")
        rec.pids["registry"] = host.start_daemon(
            ["docker-registry", "serve", str(config)], lab.state_dir / "registry.log"
        )
    host.wait_for(f"registry on {lab.registry}", lambda: _port_open(lab.gateway, REGISTRY_PORT), 15)


def _known_hosts(lab: LabLayout) -> None:
    lines = []
    for m in lab.minions:
        keytype, key = (m.state_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        lines.append(f"{m.address} {keytype} {key}")
    lab.known_hosts.write_text("\n".join(lines) + "\n")


def _has_image(m: MinionLayout, ref: str) -> bool:
    return bool(_docker(m, "image", "ls", "-q", ref).strip())


def _has_current_image(m: MinionLayout, image: ImageSpec) -> bool:
    """Whether the minion has the image with the command this kubeplay builds it with (a lab brought up by an
    older one gets the new image)."""
    found = _docker(m, "image", "inspect", "--format", "{{json .Config.Cmd}}", image.name, check=False).strip()
    wanted = next((change.removeprefix("CMD ") for change in image.changes if change.startswith("CMD ")), "null")
    try:
        return bool(found) and json.loads(found) == json.loads(wanted)
    except ValueError:
        return False


def _import(m: MinionLayout, image: ImageSpec) -> None:
    changes = [arg for change in image.changes for arg in ("-c", change)]
    _docker(m, "import", *changes, "-", image.name, stdin=image.rootfs)


def _images(lab: LabLayout, say: Say) -> None:
    httpd = f"{lab.registry}/{HTTPD_IMAGE}:latest"
    first = lab.minions[0]
    if not _has_image(first, httpd):
        say(f"image {httpd}: built from busybox, pushed to the lab registry")
        _import(first, httpd_image(httpd))
    _docker(first, "push", "-q", httpd)
    for name, (build, made_from) in LOADED_IMAGES.items():
        spec = build(f"{name}:latest")
        missing = [m for m in lab.minions if not _has_current_image(m, spec)]
        if missing:
            say(f"image {spec.name}: built from {made_from}, loaded on " + ", ".join(m.name for m in missing))
            with ThreadPoolExecutor(max_workers=len(missing)) as pool:
                list(pool.map(_import, missing, [spec] * len(missing)))


LOADED_IMAGES: dict[str, tuple[Callable[[str], ImageSpec], str]] = {
    REDIS_IMAGE: (redis_image, "Debian's redis-server"),
    REDIS_SLAVE_IMAGE: (redis_slave_image, "Debian's redis-server and busybox"),
    GUESTBOOK_FRONTEND_IMAGE: (guestbook_frontend_image, "busybox httpd and a CGI script"),
}
"""Images loaded into every minion's dockerd under the names manifests give them (no registry in the name):
image -> (how it is built, what it is built from)."""


def inventory_text(lab: LabLayout) -> str:
    """The lab's inventory, for kubeplay and for Ansible alike: the host keys are named the Ansible way, in the
    ssh arguments (UserKnownHostsFile, with host key checking on); Ansible's modules run on the minions with the
    python running this (the minions are network namespaces of this machine, sharing its files)."""
    hosts = "\n".join(f"{m.name} ansible_host={m.address}" for m in lab.minions)
    ssh_args = shlex.join(["-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes"])
    return (
        f"{INVENTORY_HEADER} for the lab {lab.name!r}; `kubeplay lab down` removes it.\n"
        f"[minions]\n{hosts}\n\n"
        "[all:vars]\n"
        "ansible_user=root\n"
        f"ansible_ssh_private_key_file={lab.ssh_key}\n"
        f"ansible_ssh_common_args={shlex.quote(ssh_args)}\n"
        f"ansible_python_interpreter={shlex.quote(sys.executable)}\n"
        f"lab_registry={lab.registry}\n"
    )


def _write_inventory(lab: LabLayout, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inventory_text(lab))


# --- status ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinionStatus:
    name: str
    address: str
    netns: bool
    sshd: bool
    dockerd: bool
    pod_subnet: str


@dataclass(frozen=True)
class LabStatus:
    name: str
    bridge: bool
    registry: bool
    registry_address: str
    inventory: str
    minions: tuple[MinionStatus, ...]

    @property
    def healthy(self) -> bool:
        return self.bridge and self.registry and all(m.netns and m.sshd and m.dockerd for m in self.minions)


def status(name: str) -> LabStatus | None:
    found = current(name)
    if found is None:
        return None
    lab, rec = found
    return LabStatus(
        name=name,
        bridge=host.link_exists(lab.bridge),
        registry=_port_open(lab.gateway, REGISTRY_PORT),
        registry_address=lab.registry,
        inventory=rec.inventory,
        minions=tuple(
            MinionStatus(
                name=m.name,
                address=m.address,
                netns=host.netns_exists(m.netns),
                sshd=host.netns_exists(m.netns) and _port_open(m.address, 22),
                dockerd=_docker_ok(m),
                pod_subnet=m.pod_subnet,
            )
            for m in lab.minions
        ),
    )


# --- down -----------------------------------------------------------------------------------------------------


def down(name: str, say: Say) -> bool:
    """Remove everything the lab recorded that it created. Returns False when there was no such lab."""
    _require_root()
    found = current(name)
    if found is None:
        return False
    lab, rec = found
    with ThreadPoolExecutor(max_workers=len(lab.minions)) as pool:
        list(pool.map(lambda m: _minion_down(m, rec, say), lab.minions))
    host.stop_pid(rec.pids.get("registry", 0), str(lab.state_dir / "registry.yml"))
    if host.link_exists(lab.bridge):
        say(f"bridge {lab.bridge}")
        host.run(["ip", "link", "del", lab.bridge])
    rule = ["FORWARD", "-i", lab.bridge, "-o", lab.bridge, "-j", "ACCEPT"]
    while rec.host_forward_rule and _rule_present(rule):
        host.run(["iptables", "-w", "-D", *rule])
    _unmount_under(lab.state_dir, lab.run_dir)
    inventory = Path(rec.inventory)
    if inventory.exists() and inventory.read_text().startswith(INVENTORY_HEADER):
        inventory.unlink()
    shutil.rmtree(lab.run_dir, ignore_errors=True)
    shutil.rmtree(lab.state_dir, ignore_errors=True)
    return True


def _minion_down(m: MinionLayout, rec: Record, say: Say) -> None:
    say(f"{m.name}: stopping dockerd and sshd, removing {m.netns}")
    if _docker_ok(m):
        ids = _docker(m, "ps", "-aq").split()
        if ids:
            _docker(m, "rm", "-f", *ids, check=False)
    host.stop_pid(rec.pids.get(f"{m.name}/dockerd", 0), str(m.docker_socket))
    host.stop_pid(rec.pids.get(f"{m.name}/sshd", 0), str(m.state_dir / "sshd_config"))
    if host.netns_exists(m.netns):
        for pid in host.netns_pids(m.netns):
            host.stop_pid(pid, "", timeout=5)
        host.run(["ip", "netns", "del", m.netns])
    if host.link_exists(m.veth_host):
        host.run(["ip", "link", "del", m.veth_host], check=False)


def _unmount_under(*roots: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted(mounts, key=len, reverse=True):
        if any(mount == str(r) or mount.startswith(f"{r}/") for r in roots):
            host.run(["umount", "-l", mount], check=False)
