"""Names, addresses and paths of a local lab cluster: pure functions of the lab's name and size."""

from __future__ import annotations

import re
from pathlib import Path

from kubeplay.dataclass import dataclass
from kubeplay.errors import LabError

STATE_ROOT = Path("/var/lib/kubeplay/labs")
RUN_ROOT = Path("/run/kubeplay")
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
REGISTRY_PORT = 5000
HTTPD_IMAGE = "kubeplay/httpd"
REDIS_IMAGE = "dockerfile/redis"
REDIS_SLAVE_IMAGE = "brendanburns/redis-slave"
GUESTBOOK_FRONTEND_IMAGE = "kubernetes/example-guestbook-php-redis"
"""The v0.4 guestbook's images (manifests/examples/guestbook), by the names its manifests give."""


@dataclass(frozen=True)
class MinionLayout:
    index: int
    """1-based."""
    name: str
    netns: str
    veth_host: str
    address: str
    pod_subnet: str
    """The --bip of the minion's dockerd: gateway address with prefix, e.g. 172.21.0.1/16."""
    state_dir: Path
    run_dir: Path

    @property
    def docker_socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"


@dataclass(frozen=True)
class LabLayout:
    name: str
    octet: int
    """Third octet of the lab network 10.77.<octet>.0/24."""
    minions: tuple[MinionLayout, ...]
    state_dir: Path
    run_dir: Path

    @property
    def bridge(self) -> str:
        return f"kpbr-{self.name}"

    @property
    def gateway(self) -> str:
        return f"10.77.{self.octet}.1"

    @property
    def network(self) -> str:
        return f"10.77.{self.octet}.0/24"

    @property
    def registry(self) -> str:
        return f"{self.gateway}:{REGISTRY_PORT}"

    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def record(self) -> Path:
        """The lab's record of what it created (pids, names, the inventory it wrote)."""
        return self.state_dir / "lab.json"


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise LabError(f"lab name {name!r}: use 1-8 lowercase letters and digits, starting with a letter")


def layout(name: str, minions: int, octet: int) -> LabLayout:
    check_name(name)
    if not 1 <= minions <= 20:
        raise LabError(f"--minions {minions}: a lab has 1 to 20 minions")
    state = STATE_ROOT / name
    run = RUN_ROOT / name
    return LabLayout(
        name=name,
        octet=octet,
        minions=tuple(
            MinionLayout(
                index=i,
                name=f"minion-{i}",
                netns=f"kp-{name}-m{i}",
                veth_host=f"kpv-{name}-{i}",
                address=f"10.77.{octet}.{10 + i}",
                pod_subnet=f"172.{20 + i}.0.1/16",
                state_dir=state / f"minion-{i}",
                run_dir=run / f"m{i}",
            )
            for i in range(1, minions + 1)
        ),
        state_dir=state,
        run_dir=run,
    )
