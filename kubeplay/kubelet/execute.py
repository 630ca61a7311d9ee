"""The executor: carry out a plan's actions on every minion in parallel, each minion's actions in order.

A failed action is recorded with its reason and the minion's other actions go on; nothing on another minion is
affected. Docker errors are translated here: NotFound while removing means "already converged".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from kubeplay.connectors.base import MinionConnection
from kubeplay.model import INFRA_CONTAINER, EnvVar, ObservedPod, Pod
from kubeplay.parallel import in_parallel
from kubeplay.planner.pods import Action, Plan
from kubeplay.planner.replicas import RolloutStep
from kubeplay.pods.dockerspec import CreateArgs, app_args, image_ref, infra_args, volume_name
from kubeplay.pods.infra import INFRA_CHANGES, INFRA_IMAGE, infra_rootfs
from kubeplay.pods.spechash import pod_hash

Say = Callable[[str], None]
ROLLOUT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Result:
    action: Action
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class Environment:
    """What every container created in this run gets from the services (env vars, /etc/hosts names)."""

    env: tuple[EnvVar, ...] = ()
    hosts: Mapping[str, str] = field(default_factory=dict)
    infra_image: str = INFRA_IMAGE


class ActionFailed(Exception):
    pass


def _docker_error(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


class MinionExecutor:
    """Runs actions against one minion's Docker."""

    def __init__(self, conn: MinionConnection, environment: Environment) -> None:
        self.conn = conn
        self.api: Any = conn.docker_api()
        self.environment = environment

    def run(self, action: Action) -> Result:
        try:
            getattr(self, f"_{action.verb}")(action)
        except (docker.errors.DockerException, ActionFailed, OSError) as exc:
            return Result(action, False, _docker_error(exc))
        return Result(action, True)

    # --- verbs ---

    def _provision(self, action: Action) -> None:
        repository, tag = action.image.rsplit(":", 1)
        self.api.import_image_from_data(infra_rootfs(), repository=repository, tag=tag, changes=list(INFRA_CHANGES))

    def _pull(self, action: Action) -> None:
        ref = image_ref(action.image)
        # Docker takes a digest where the tag goes: redis@sha256:... -> ("redis", "sha256:...")
        repository, tag = ref.split("@", 1) if "@" in ref else ref.rsplit(":", 1)
        for line in self.api.pull(repository, tag=tag, stream=True, decode=True):
            if isinstance(line, dict) and line.get("error"):
                raise ActionFailed(f"pull {action.image}: {line['error']}")

    def _remove(self, action: Action) -> None:
        assert action.observed is not None
        self.remove_pod(action.observed)

    def _replace(self, action: Action) -> None:
        assert action.observed is not None and action.desired is not None
        self.remove_pod(action.observed)
        self.create_pod(action.desired)

    def _create(self, action: Action) -> None:
        assert action.desired is not None
        self.create_pod(action.desired)

    def _start(self, action: Action) -> None:
        for cid in action.containers:
            self.api.start(cid)

    # --- pods ---

    def create_pod(self, pod: Pod) -> None:
        """Create and start the infra container, then every app container; on failure remove what was made."""
        spec_hash = pod_hash(pod)
        created: list[str] = []
        try:
            env = self.environment
            infra = self._create_container(infra_args(pod, spec_hash, env.infra_image, env.hosts))
            created.append(infra)
            for container in pod.spec.containers:
                created.append(self._create_container(app_args(pod, container, spec_hash, infra, self.environment.env)))
        except Exception:
            for cid in reversed(created):
                self._remove_container(cid)
            self._remove_volumes(pod.name)
            raise

    def _create_container(self, args: CreateArgs) -> str:
        host_config = self.api.create_host_config(**args.host_config)
        created = self.api.create_container(args.image, name=args.name, host_config=host_config, **args.container)
        cid = str(created["Id"])
        try:
            self.api.start(cid)
        except docker.errors.APIError:
            self._remove_container(cid)
            raise
        return cid

    def remove_pod(self, pod: ObservedPod) -> None:
        for c in sorted(pod.containers, key=lambda c: c.container == INFRA_CONTAINER):
            self._remove_container(c.id)
        self._remove_volumes(pod.name)

    def remove_pod_by_name(self, name: str) -> bool:
        found = self.api.containers(all=True, filters={"label": f"kubeplay.pod={name}"})
        for c in sorted(found, key=lambda c: c["Labels"].get("kubeplay.container") == INFRA_CONTAINER):
            self._remove_container(c["Id"])
        self._remove_volumes(name)
        return bool(found)

    def _remove_container(self, cid: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):  # already gone: converged
            self.api.remove_container(cid, force=True, v=True)

    def _remove_volumes(self, pod: str) -> None:
        prefix = volume_name(pod, "")
        listing = self.api.volumes(filters={"name": prefix}) or {}
        for volume in listing.get("Volumes") or []:
            if str(volume.get("Name", "")).startswith(prefix):
                with contextlib.suppress(docker.errors.NotFound):
                    self.api.remove_volume(volume["Name"], force=True)

    def pod_running(self, name: str) -> bool:
        found = self.api.containers(all=True, filters={"label": f"kubeplay.pod={name}"})
        return bool(found) and all(c.get("State") == "running" for c in found)


def execute(
    plan: Plan, connections: Mapping[str, MinionConnection], environment: Environment, say: Say, forks: int
) -> list[Result]:
    """Run the plan: every minion's actions in parallel, then the rollout steps one by one."""
    by_minion: dict[str, list[Action]] = {}
    for action in plan.actions:
        by_minion.setdefault(action.minion, []).append(action)

    def run_minion(minion: str) -> list[Result]:
        executor = MinionExecutor(connections[minion], environment)
        results = []
        for action in by_minion[minion]:
            result = executor.run(action)
            say(f"{minion}: {action.verb} {action.subject}: {'ok' if result.ok else 'FAILED: ' + result.error}")
            results.append(result)
        return results

    results = [r for minion_results in in_parallel(run_minion, sorted(by_minion), forks) for r in minion_results]
    results.extend(_rollout(plan, connections, environment, say))
    return results


def _rollout(
    plan: Plan, connections: Mapping[str, MinionConnection], environment: Environment, say: Say
) -> Sequence[Result]:
    """Rolling update, one step at a time; a step that does not complete stops the rollout (the next run goes on)."""
    results: list[Result] = []
    for n, step in enumerate(plan.rollout, 1):
        in_place = n - 1 in plan.rollout_in_place
        label = f"rollout {step.controller}: step {n}/{len(plan.rollout)}" + (" (in place)" if in_place else "")
        step_results, done = _rollout_step(
            _Step(step, plan.rollout_placements, in_place, label), connections, environment, say
        )
        results.extend(step_results)
        if not done:
            say(f"rollout {step.controller}: stopped at step {n}; the next run goes on from here")
            break
    return results


@dataclass(frozen=True)
class _Step:
    step: RolloutStep
    placements: Mapping[str, str]
    in_place: bool
    """Remove the old pods first (the new ones fit only where they are), else create the new ones first."""
    label: str
    """How progress lines start, e.g. "rollout web: step 2/3"."""


def _rollout_step(
    s: _Step, connections: Mapping[str, MinionConnection], environment: Environment, say: Say
) -> tuple[list[Result], bool]:
    """Create the new pods and wait until they run, then remove the old ones; in place, the other way round."""
    unplaced = [p.name for p in s.step.create if p.name not in s.placements]
    if unplaced:
        say(f"{s.label}: {', '.join(unplaced)} cannot be scheduled")
        return [], False
    results: list[Result] = []
    phases = (_remove_old, _create_new) if s.in_place else (_create_new, _remove_old)
    for phase in phases:
        done = phase(s, connections, environment, say)
        results.extend(done)
        if not all(r.ok for r in done):
            return results, False
    return results, True


def _create_new(
    s: _Step, connections: Mapping[str, MinionConnection], environment: Environment, say: Say
) -> list[Result]:
    results = []
    for pod in s.step.create:
        minion = s.placements[pod.name]
        action = Action("create", minion, f"rollout of {s.step.controller}", pod=pod.name, desired=pod)
        executor = MinionExecutor(connections[minion], environment)
        result = executor.run(action)
        if result.ok and not _wait_running(executor, pod.name):
            result = Result(action, False, f"not running within {ROLLOUT_TIMEOUT:.0f} s")
        say(
            f"{s.label}: "
            + (f"{pod.name} running on {minion}" if result.ok else f"{pod.name} on {minion}: FAILED: {result.error}")
        )
        results.append(result)
        if not result.ok:
            break
    return results


def _remove_old(
    s: _Step, connections: Mapping[str, MinionConnection], environment: Environment, say: Say
) -> list[Result]:
    results = []
    for old in s.step.remove:
        action = Action(
            "remove", old.minion, "rolled out: replaced by a pod of the new template", pod=old.name, observed=old
        )
        result = MinionExecutor(connections[old.minion], environment).run(action)
        say(
            f"{s.label}: "
            + (
                f"removed {old.name} on {old.minion}"
                if result.ok
                else f"remove {old.name} on {old.minion}: FAILED: {result.error}"
            )
        )
        results.append(result)
    return results


def _wait_running(executor: MinionExecutor, pod: str) -> bool:
    deadline = time.monotonic() + ROLLOUT_TIMEOUT
    while time.monotonic() < deadline:
        if executor.pod_running(pod):
            return True
        time.sleep(0.5)
    return False
