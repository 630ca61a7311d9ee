"""`kubeplay apply` killed with SIGKILL at chosen moments on the lab, then applied once more: the kill scenarios
shared by the fault-injection test (test_crash.py) and bench/bench_kill_recovery.py.

A scenario is a stage (the apply that is killed) and a moment: ``after-EVENT:N`` (kubeplay's own KUBEPLAY_FAULT
testing aid kills it right after the N-th Docker create, start or remove, or iptables-restore) or a number of
seconds after the start. The stages run in this order, each starting from where the one before left the cluster:

  cold        a clean cluster -> 6 replicas over the 3 minions (each with an emptyDir volume) and their service
  scale-down  6 replicas -> 2 (the 6 applied again first)
  rollout     2 replicas, template changed (an env var), back and forth
  proxy       the service's port changed, back and forth: only the proxy rules change
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import docker

from kubeplay import reconcile
from kubeplay.dataclass import dataclass
from kubeplay.pods.labels import LABEL_CONTAINER, LABEL_HASH, LABEL_POD
from kubeplay.pods.spechash import spec_hash

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = """\
apiVersion: v1
kind: ReplicationController
metadata: {{name: crash}}
spec:
  replicas: {replicas}
  selector: {{app: crash}}
  template:
    metadata: {{labels: {{app: crash}}}}
    spec:
      volumes: [{{name: scratch}}]
      containers:
        - name: httpd
          image: "{{{{ lab_registry }}}}/kubeplay/httpd"
          env: [{{name: VERSION, value: "{version}"}}]
          ports: [{{name: http, containerPort: 80}}]
          volumeMounts: [{{name: scratch, mountPath: /scratch}}]
---
apiVersion: v1
kind: Service
metadata: {{name: crash}}
spec:
  selector: {{app: crash}}
  ports: [{{port: {port}, targetPort: http}}]
"""


@dataclass(frozen=True)
class Target:
    """What an apply asks for."""

    replicas: int
    version: str = "1"
    port: int = 8080


@dataclass(frozen=True)
class Kill:
    stage: str
    moment: str | float
    """``after-EVENT:N`` (KUBEPLAY_FAULT), or seconds after the apply started."""

    def __str__(self) -> str:
        moment = self.moment if isinstance(self.moment, str) else f"{self.moment:.1f} s in"
        return f"{self.stage} killed {moment}"


KILLS: tuple[Kill, ...] = (
    *(Kill("cold", m) for m in ("after-create:1", "after-create:2", "after-start:2", "after-create:5")),
    *(Kill("cold", m) for m in ("after-start:6", "after-create:9", "after-start:10", "after-create:12")),
    Kill("cold", 1.5),
    Kill("cold", 3.0),
    *(Kill("scale-down", m) for m in ("after-remove:1", "after-remove:2", "after-remove:5")),
    Kill("scale-down", 1.5),
    *(Kill("rollout", m) for m in ("after-create:1", "after-start:2", "after-remove:1", "after-remove:2")),
    Kill("proxy", "after-restore:1"),
    Kill("proxy", "after-restore:2"),
)
"""Twenty moments; ``after-create`` ones fall between a container's create and its start."""


@dataclass(frozen=True)
class Recovery:
    kill: Kill
    killed: bool
    """The apply was killed (a time-based kill may come after it finished)."""
    code: int
    """The exit code of the one apply after the kill."""
    seconds: float
    """How long that apply took."""
    check_code: int
    """The exit code of a third apply with --detailed-exitcode: 0 when nothing was left to change."""
    problems: tuple[str, ...]
    """How the cluster differs from exactly the desired pods and volumes."""
    said: str = ""
    """The last lines the apply after the kill printed, when it did not exit 0 (for the failure's message)."""

    @property
    def converged(self) -> bool:
        return self.code == 0 and self.check_code == 0 and not self.problems


class KillLab:
    """Runs the kill scenarios through the CLI against a lab's minions (their dockerd sockets for the checks)."""

    def __init__(self, inventory: Path, docker_hosts: Sequence[str], folder: Path) -> None:
        self.inventory = inventory
        self.apis = [docker.APIClient(base_url=h, version="1.41") for h in docker_hosts]
        self.folder = folder
        self.target = Target(0)

    def run(self, kills: Sequence[Kill], say: Callable[[str], None] = lambda line: None) -> Iterator[Recovery]:
        for kill in kills:
            before, target = self._stage(kill.stage)
            if before is None:
                self.clean()
            elif before != self.target:
                self.converge(before)
            started = time.monotonic()
            killed = self._killed_apply(target, kill.moment)
            how = "killed" if killed else "finished before the kill"
            say(f"{kill}: {how} after {time.monotonic() - started:.1f} s")
            yield self._recover(kill, killed, target)

    def _stage(self, stage: str) -> tuple[Target | None, Target]:
        """The cluster a stage starts from (None: clean) and what its apply asks for."""
        now = self.target
        if stage == "cold":
            return None, Target(6)
        if stage == "scale-down":
            return Target(6, now.version, now.port), Target(2, now.version, now.port)
        if stage == "rollout":
            return now, Target(now.replicas, "2" if now.version == "1" else "1", now.port)
        return now, Target(now.replicas, now.version, 8081 if now.port == 8080 else 8080)

    def write(self, target: Target) -> Path:
        path = self.folder / "crash.yaml.j2"
        path.write_text(MANIFEST.format(replicas=target.replicas, version=target.version, port=target.port))
        return path

    def apply(self, target: Target, *more: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "kubeplay.cli", "apply", "-f", str(self.write(target)), "-y"]
        return subprocess.Popen(
            [*argv, "-i", str(self.inventory), *more],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def converge(self, target: Target) -> None:
        proc = self.apply(target)
        output, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise AssertionError(f"apply of {target} exited {proc.returncode}:\n{output}")
        self.target = target

    def _killed_apply(self, target: Target, moment: str | float) -> bool:
        if isinstance(moment, str):
            proc = self.apply(target, env={"KUBEPLAY_FAULT": moment})
        else:
            proc = self.apply(target)
            try:
                proc.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=300)
        return proc.returncode == -signal.SIGKILL

    def _recover(self, kill: Kill, killed: bool, target: Target) -> Recovery:
        started = time.monotonic()
        recovery = self.apply(target)
        output, _ = recovery.communicate(timeout=300)
        seconds = time.monotonic() - started
        check = self.apply(target, "--detailed-exitcode")
        check.communicate(timeout=300)
        self.target = target
        problems = tuple(self.problems(target))
        said = "" if recovery.returncode == 0 else "\n".join(output.splitlines()[-8:])
        return Recovery(kill, killed, recovery.returncode, seconds, check.returncode, problems, said)

    def expected_hash(self, target: Target) -> str:
        (rc,) = reconcile.load([str(self.write(target))], str(self.inventory), {}, None).desired.controllers
        return spec_hash(rc.template.spec, rc.template.labels)

    def problems(self, target: Target) -> Iterator[str]:
        """How the minions differ from exactly ``target``'s replicas, each its infra and httpd container running
        with the template's hash, each with its emptyDir volume, and no other kubeplay container or volume."""
        template = self.expected_hash(target)
        pods = 0
        for index, api in enumerate(self.apis):
            held: dict[str, list[str]] = {}
            for c in api.containers(all=True, filters={"label": LABEL_POD}):
                labels = c["Labels"]
                held.setdefault(labels[LABEL_POD], []).append(
                    f"{labels.get(LABEL_CONTAINER)} {c['State']} {labels.get(LABEL_HASH)}"
                )
            for pod, containers in sorted(held.items()):
                if sorted(containers) != [f"POD running {template}", f"httpd running {template}"]:
                    yield f"minion {index + 1}: pod {pod}: {sorted(containers)}"
            volumes = {v["Name"] for v in (api.volumes().get("Volumes") or []) if v["Name"].startswith("kp_")}
            if volumes != {f"kp_{pod}_scratch" for pod in held}:
                yield f"minion {index + 1}: volumes {sorted(volumes)} for pods {sorted(held)}"
            pods += len(held)
        if pods != target.replicas:
            yield f"{pods} pods, {target.replicas} desired"

    def clean(self) -> None:
        """No kubeplay container or volume on any minion."""
        for api in self.apis:
            for c in api.containers(all=True, filters={"label": LABEL_POD}):
                api.remove_container(c["Id"], force=True, v=True)
            for v in api.volumes().get("Volumes") or []:
                if v["Name"].startswith("kp_"):
                    api.remove_volume(v["Name"], force=True)
        self.target = Target(0)
