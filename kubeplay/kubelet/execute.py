"""The executor: carry out a plan's actions on every minion in parallel, each minion's actions in order.

A failed action is recorded with its reason and the minion's other actions go on; nothing on another minion is
affected. Docker is reached through the connection's ``DockerOps`` (whose errors are kubeplay's ``DockerError``).

A rolling update keeps its service answering: the executor is given a ``Reroute`` (reconcile wires it to every
minion's proxy rules), and in each step a new pod is put in the endpoints only once it runs and passes its liveness
probes, and an old pod is taken out of them on every minion, then given ``Waiting.drain`` seconds for the requests
already sent to it, before it is stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

from kubeplay.connectors.base import ContainerConfig, ContainerSummary, MinionConnection, PullListener, PullProgress
from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import DockerConflict, DockerError
from kubeplay.kubelet.observe import check_container, parse_container, pod_containers
from kubeplay.kubelet.probe import probe_pod
from kubeplay.model import DEFAULT_PROJECT, INFRA_CONTAINER, EnvVar, ObservedPod, Pod
from kubeplay.parallel import Say, in_parallel
from kubeplay.planner.pods import Action, Plan
from kubeplay.planner.rollout import PlacedStep
from kubeplay.pods.dockerspec import app_config, image_ref, infra_config, volume_name
from kubeplay.pods.infra import INFRA_CHANGES, INFRA_IMAGE, infra_rootfs
from kubeplay.pods.labels import LABEL_CONTAINER, LABEL_POD, LABEL_PROJECT
from kubeplay.pods.spechash import pod_hash

ROLLOUT_TIMEOUT = 120.0
PODS_AT_ONCE = 3
"""How many new pods one minion's executor makes side by side: Docker starts containers concurrently, and a cold
apply spends most of its time waiting on the daemons' starts."""
DRAIN_SECONDS = 1.0
"""How long a pod taken out of the endpoints keeps running before it is stopped: established connections go on
to it through each minion's conntrack, only new ones go to the pods that stay."""


@dataclass(frozen=True)
class Result:
    action: Action
    ok: bool
    error: str = ""
    seconds: float = field(default=0.0, compare=False)
    """How long the action took. (a measurement: two results alike but for it are equal)"""


@dataclass(frozen=True)
class Pulling:
    """A pull action under way: one line of the progress Docker streams (for a live view of the run)."""

    action: Action
    progress: PullProgress


@dataclass(frozen=True)
class Environment:
    """What every container created in this run gets from the services (env vars, /etc/hosts names)."""

    env: tuple[EnvVar, ...] = ()
    hosts: Mapping[str, str] = field(default_factory=dict)
    infra_image: str = INFRA_IMAGE
    project: str = DEFAULT_PROJECT
    """The run's project, labelled on every container it creates."""


@dataclass(frozen=True)
class Waiting:
    """How a rollout step waits for its new pods to run (tests make it instant)."""

    timeout: float = ROLLOUT_TIMEOUT
    poll: float = 0.5
    """Seconds between two looks at the pod."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    drain: float = DRAIN_SECONDS
    """Seconds between taking old pods out of the endpoints and stopping them (see DRAIN_SECONDS)."""


@dataclass(frozen=True)
class Rerouted:
    """What the service proxy answered to a change of the pods that take traffic."""

    ok: bool = True
    """Every minion acted on has the new endpoints (else an old pod may still be sent traffic somewhere)."""
    changed: bool = False
    """Some minion's rules changed."""


Reroute = Callable[[Sequence[ObservedPod], Sequence[ObservedPod]], Rerouted]
"""(pods to serve, pods to stop serving) -> every minion's endpoints changed so, new connections only to pods
that serve (reconcile writes every minion's proxy rules where they differ)."""


def no_proxy(serve: Sequence[ObservedPod], stop: Sequence[ObservedPod]) -> Rerouted:
    """A ``Reroute`` for a run without services' rules: nothing to change."""
    return Rerouted()


class MinionExecutor:
    """Runs actions against one minion's Docker."""

    def __init__(
        self, conn: MinionConnection, environment: Environment, pulling: Callable[[Pulling], None] | None = None
    ) -> None:
        self.conn = conn
        self.docker = conn.docker()
        self.environment = environment
        self.pulling = pulling
        """Told the progress of each pull, when given."""
        self._reads = threading.Lock()
        """The reads share one channel (connectors/dockerread.py): one at a time while pods are made side by side."""

    def perform(self, action: Action) -> Result:
        began = time.monotonic()
        try:
            getattr(self, f"_{action.verb}")(action)
        except (DockerError, OSError) as exc:
            return Result(action, False, str(exc), time.monotonic() - began)
        return Result(action, True, seconds=time.monotonic() - began)

    # --- verbs ---

    def _provision(self, action: Action) -> None:
        repository, tag = action.image.rsplit(":", 1)
        self.docker.import_image(infra_rootfs(), repository, tag, INFRA_CHANGES)

    def _pull(self, action: Action) -> None:
        self.docker.pull(image_ref(action.image), self._pull_listener(action))

    def _pull_listener(self, action: Action) -> PullListener | None:
        pulling = self.pulling
        if pulling is None:
            return None
        return lambda line: pulling(Pulling(action, line))

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
            self.docker.start(cid)

    # --- pods ---

    def create_pod(self, pod: Pod) -> None:
        """Create and start the infra container, then the pod's emptyDir volumes and every app container; on
        failure remove what was made. A run killed half-way leaves a half-made pod: the next run observes it
        (every container and volume carries the pod's label) and replaces it."""
        spec_hash = pod_hash(pod)
        created: list[str] = []
        try:
            env = self.environment
            config = infra_config(pod, spec_hash, env.infra_image, env.hosts, env.project)
            infra = self._create_container(config, pod.name, created)
            created.append(infra)
            for volume in pod.spec.volumes:
                if not volume.host_path:
                    labels = {LABEL_POD: pod.name, LABEL_PROJECT: env.project}
                    self.docker.create_volume(volume_name(pod.name, volume.name), labels)
            for container in pod.spec.containers:
                config = app_config(pod, container, spec_hash, infra, env.env, env.project)
                created.append(self._create_container(config, pod.name, created))
        except Exception:
            for cid in reversed(created):
                self.docker.remove(cid)
            self._remove_volumes(pod.name)
            raise

    def _create_container(self, config: ContainerConfig, pod: str, made: Sequence[str]) -> str:
        try:
            cid = self.docker.create(config)
        except DockerConflict:
            self._remove_leftovers(config.name, pod, made)
            cid = self.docker.create(config)
        try:
            self.docker.start(cid)
        except DockerError:
            self.docker.remove(cid)
            raise
        return cid

    def _remove_leftovers(self, name: str, pod: str, made: Sequence[str]) -> None:
        """The container name is taken. When a container of this same pod holds it (left by a run killed after
        this run observed the minion), it goes, with the pod's other containers not made now (``made``); any
        other holder is never touched, and the pod fails."""
        leftovers = [c for c in self._pod_containers(pod) if c.id not in made]
        if not any(c.name == name for c in leftovers):
            raise DockerConflict(
                f"the container name {name} is taken by a container that is not kubeplay's pod {pod}: "
                "kubeplay leaves it alone; remove or rename it"
            )
        self._remove_containers(leftovers)

    def _remove_containers(self, found: Sequence[ContainerSummary]) -> None:
        """Apps first, the infra container last (the apps live in its network namespace)."""
        for c in sorted(found, key=lambda c: c.labels.get(LABEL_CONTAINER) == INFRA_CONTAINER):
            self.docker.remove(c.id)

    def remove_pod(self, pod: ObservedPod) -> None:
        for c in sorted(pod.containers, key=lambda c: c.container == INFRA_CONTAINER):
            self.docker.remove(c.id)
        self._remove_volumes(pod.name)

    def remove_pod_by_name(self, name: str) -> bool:
        found = self._pod_containers(name)
        self._remove_containers(found)
        self._remove_volumes(name)
        return bool(found)

    def _remove_volumes(self, pod: str) -> None:
        with self._reads:
            found = self.docker.volumes(volume_name(pod, ""))
        for volume in found:
            self.docker.remove_volume(volume)

    def _pod_containers(self, pod: str) -> list[ContainerSummary]:
        with self._reads:
            return pod_containers(self.docker, pod)

    def observed_pod(self, name: str) -> ObservedPod:
        """The pod as its containers are now (one labelled list)."""
        checked = (check_container(parse_container(c))[0] for c in self._pod_containers(name))
        return ObservedPod(name, self.conn.minion.name, tuple(c for c in checked if c is not None))


def execute(
    plan: Plan,
    connections: Mapping[str, MinionConnection],
    environment: Environment,
    say: Say,
    forks: int,
    waiting: Waiting = Waiting(),
    done: Callable[[Result], None] = lambda result: None,
    reroute: Reroute = no_proxy,
    pulling: Callable[[Pulling], None] | None = None,
) -> list[Result]:
    """Run the plan: every minion's actions in parallel, in order but for new pods following one another, which are
    made ``PODS_AT_ONCE`` at a time; then the rollout steps one by one, each changing the endpoints through
    ``reroute``. ``done`` is told each result as soon as it is known, ``pulling`` (when given) each line of a pull's
    progress (both from the minions' threads: they must be thread-safe)."""
    by_minion: dict[str, list[Action]] = {}
    for action in plan.actions:
        by_minion.setdefault(action.minion, []).append(action)

    def run_minion(minion: str) -> list[Result]:
        executor = MinionExecutor(connections[minion], environment, pulling)

        def perform(action: Action) -> Result:
            result = executor.perform(action)
            say(f"{minion}: {action.verb} {action.subject}: {'ok' if result.ok else 'FAILED: ' + result.error}")
            done(result)
            return result

        return [r for batch in side_by_side(by_minion[minion]) for r in in_parallel(perform, batch, PODS_AT_ONCE)]

    results = [r for minion_results in in_parallel(run_minion, sorted(by_minion), forks) for r in minion_results]
    rollout = _Rollout(connections, environment, say, waiting, done, reroute)
    results.extend(rollout.perform_steps(plan.rollout))
    return results


def side_by_side(actions: Sequence[Action]) -> list[list[Action]]:
    """One minion's actions in batches that may run at once, in order: new pods that follow one another (each only
    creates containers of its own name), every other action alone (a pull goes before the pods that need it, a
    removal frees its ports before a pod that takes them)."""
    batches: list[list[Action]] = []
    for action in actions:
        if action.verb == "create" and batches and batches[-1][0].verb == "create":
            batches[-1].append(action)
        else:
            batches.append([action])
    return batches


@dataclass(frozen=True)
class _Rollout:
    """Rolling update, one step at a time; a step that does not complete stops the rollout (the next run goes
    on)."""

    connections: Mapping[str, MinionConnection]
    environment: Environment
    say: Say
    waiting: Waiting
    done: Callable[[Result], None]
    reroute: Reroute = no_proxy

    def perform_steps(self, steps: Sequence[PlacedStep]) -> list[Result]:
        results: list[Result] = []
        for n, step in enumerate(steps, 1):
            label = f"rollout {step.controller}: step {n}/{len(steps)}" + (" (in place)" if step.in_place else "")
            step_results, done = self.step(step, label)
            results.extend(step_results)
            if not done:
                self.say(f"rollout {step.controller}: stopped at step {n}; the next run goes on from here")
                break
        return results

    def step(self, step: PlacedStep, label: str) -> tuple[list[Result], bool]:
        """Create the new pods and wait until they run and pass their probes, put them in the endpoints and take
        the old ones out, drain, then remove the old pods; in place, the old pods go first (taken out, drained,
        removed), then the new ones come and are put in. ``label``: how progress lines start, e.g.
        "rollout web: step 2/3"."""
        if step.unplaced:
            self.say(f"{label}: {', '.join(step.unplaced)} cannot be scheduled")
            return [], False
        results: list[Result] = []
        new: list[ObservedPod] = []
        if not step.in_place:
            results, new = self.create_new(step, label)
        if not all(r.ok for r in results) or not self.route(label, new, step.remove):
            return results, False
        results += self.remove_old(step, label)
        if not all(r.ok for r in results):
            return results, False
        if step.in_place:
            created, new = self.create_new(step, label)
            results += created
            if not all(r.ok for r in created) or not self.route(label, new, ()):
                return results, False
        return results, True

    def route(self, label: str, serve: Sequence[ObservedPod], stop: Sequence[ObservedPod]) -> bool:
        """Change every minion's endpoints; when old pods may have been taken out, give their requests in flight
        ``drain`` seconds. False when some minion's rules could not be written (its old pods must not stop)."""
        rerouted = self.reroute(serve, stop)
        if not rerouted.ok:
            self.say(f"{label}: the proxy rules could not be written on every minion")
            return False
        if rerouted.changed and stop:
            self.waiting.sleep(self.waiting.drain)
        return True

    def create_new(self, step: PlacedStep, label: str) -> tuple[list[Result], list[ObservedPod]]:
        """The results, and the new pods that run and pass their probes."""
        results, ready = [], []
        for pod, minion in step.create:
            action = Action("create", minion, f"rollout of {step.controller}", pod=pod.name, desired=pod)
            executor = MinionExecutor(self.connections[minion], self.environment)
            result = executor.perform(action)
            if result.ok:
                found, why = self.wait_ready(executor, pod)
                ready += [found] if found is not None else []
                result = replace(result, ok=not why, error=why)
            self.say(
                f"{label}: "
                + (
                    f"{pod.name} running on {minion}"
                    if result.ok
                    else f"{pod.name} on {minion}: FAILED: {result.error}"
                )
            )
            self.done(result)
            results.append(result)
            if not result.ok:
                break
        return results, ready

    def remove_old(self, step: PlacedStep, label: str) -> list[Result]:
        results = []
        for old in step.remove:
            action = Action(
                "remove", old.minion, "rolled out: replaced by a pod of the new template", pod=old.name, observed=old
            )
            result = MinionExecutor(self.connections[old.minion], self.environment).perform(action)
            self.say(
                f"{label}: "
                + (
                    f"removed {old.name} on {old.minion}"
                    if result.ok
                    else f"remove {old.name} on {old.minion}: FAILED: {result.error}"
                )
            )
            self.done(result)
            results.append(result)
        return results

    def wait_ready(self, executor: MinionExecutor, pod: Pod) -> tuple[ObservedPod | None, str]:
        """The new pod once all its containers run and its liveness probes pass, and "", or None and why not
        within the timeout."""
        deadline = self.waiting.clock() + self.waiting.timeout
        why = f"not running within {self.waiting.timeout:.0f} s"
        while self.waiting.clock() < deadline:
            found = executor.observed_pod(pod.name)
            if found.running:
                failed = probe_pod(executor.conn, found, pod)
                if not failed:
                    return found, ""
                why = f"running, but failing its liveness probe after {self.waiting.timeout:.0f} s: {failed}"
            self.waiting.sleep(self.waiting.poll)
        return None, why
