"""Integration tests run kubeplay's own CLI against the real lab: sshd, dockerd and iptables per minion.

The lab is the one CI brought up (`kubeplay lab up`); when it is not running and we are root, the first test
brings it up. Each test starts from a cluster with no kubeplay pods and leaves none behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from kubeplay.dataclass import dataclass
from kubeplay.lab import cluster
from kubeplay.lab.layout import LabLayout

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "manifests"
"""Where the seed walkthrough's redis.json and redisController.json are kept, verbatim."""
SEED_ARGS = tuple(arg for path in sorted(SEED.iterdir()) if path.is_file() for arg in ("-f", str(path)))
"""-f for each manifest at the top of manifests/ (the seed's, the web pod), not the examples/ below it."""
LAB_NAME = os.environ.get("KUBEPLAY_TEST_LAB", "lab")
"""Several developers can test side by side, each on a lab of their own (KUBEPLAY_TEST_LAB=name)."""
PROJECT = "itest"
"""The project a test's applies share when it means one project (a pytest tmp_path folder's name is no DNS label)."""


@dataclass(frozen=True)
class Lab:
    layout: LabLayout
    inventory: Path

    def docker(self, minion: int) -> docker.APIClient:
        """Direct access to a minion's dockerd (through its unix socket) for the tests' own checks."""
        return docker.APIClient(base_url=self.layout.minions[minion].docker_host, version="1.41")

    @property
    def size(self) -> int:
        return len(self.layout.minions)

    def kubeplay_containers(self) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for i, m in enumerate(self.layout.minions):
            found[m.name] = self.docker(i).containers(all=True, filters={"label": "kubeplay.pod"})
        return found

    def clean(self) -> None:
        for i in range(self.size):
            api = self.docker(i)
            for c in api.containers(all=True, filters={"label": "kubeplay.pod"}):
                api.remove_container(c["Id"], force=True, v=True)


@pytest.fixture(scope="session")
def lab_cluster() -> Lab:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    st = cluster.status(LAB_NAME)
    if st is None or not st.healthy:
        argv = ["lab", "up", "--name", LAB_NAME, "--inventory", f"inventory/{LAB_NAME}.ini"]
        run = subprocess.run([sys.executable, "-m", "kubeplay.cli", *argv], cwd=ROOT, check=False)
        assert run.returncode == 0, "kubeplay lab up failed"
    found = cluster.current(LAB_NAME)
    assert found is not None
    layout, record = found
    return Lab(layout, Path(record.inventory))


@pytest.fixture
def lab(lab_cluster: Lab) -> Iterator[Lab]:
    lab_cluster.clean()
    yield lab_cluster
    lab_cluster.clean()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The JSON document on stdout (JSON is untyped: tests index into it as they check it)."""
        value = json.loads(self.stdout)
        assert isinstance(value, dict)
        return value


def kubeplay(*args: str, inventory: Path | None = None, stdin: str | None = None, cwd: Path = ROOT) -> Run:
    """Run the kubeplay CLI as a user types it (a separate process, no terminal)."""
    argv = [sys.executable, "-m", "kubeplay.cli", *args]
    if inventory is not None:
        argv += ["-i", str(inventory)]
    proc = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)
