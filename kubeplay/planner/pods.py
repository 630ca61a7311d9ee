"""The planner: (desired, observed) -> ordered actions, each with a reason. Pure: no I/O.

Per pod: a pod that is missing is scheduled and created; a pod whose spec hash differs is replaced where it runs;
a pod with a missing, extra, never-started or dead container (what a killed run leaves), a failed liveness probe
or a dead infra container is replaced; exited containers are started again as the restart policy says; a pod gone
from the manifests is removed. Replication controllers add their replicas (replicas.py) and the scheduler places
every new pod (scheduler.py).
Per minion the actions run in this order: remove, provision, pull, replace, create, start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Literal

from kubeplay.dataclass import dataclass, field
from kubeplay.errors import InputError, Problem
from kubeplay.model import DEFAULT_PROJECT, INFRA_CONTAINER, Desired, Inventory, Observed, ObservedPod, Pod, Source
from kubeplay.planner.replicas import ReplicaPlan, plan_replicas
from kubeplay.planner.rollout import PlacedStep, RolloutPlacement, place_rollout
from kubeplay.planner.scheduler import MinionInfo, PlacedPod, Schedule, Scheduler, consent_refusal, minion_info
from kubeplay.pods.dockerspec import image_ref
from kubeplay.pods.infra import INFRA_IMAGE
from kubeplay.pods.spechash import pod_hash

Verb = Literal["remove", "provision", "pull", "replace", "create", "start"]
VERB_ORDER: dict[str, int] = {v: i for i, v in enumerate(("remove", "provision", "pull", "replace", "create", "start"))}


@dataclass(frozen=True)
class Action:
    verb: Verb
    minion: str
    reason: str
    pod: str = ""
    desired: Pod | None = None
    """The pod to create (create, replace)."""
    observed: ObservedPod | None = None
    """The pod as it is now (replace, remove, start)."""
    image: str = ""
    """The image to pull or provision."""
    containers: tuple[str, ...] = ()
    """Docker container ids to start (start)."""

    @property
    def subject(self) -> str:
        return self.image if self.verb in ("pull", "provision") else self.pod


@dataclass(frozen=True)
class Failure:
    """Something the plan already knows cannot be done on a minion (reported as failed; the rest goes on)."""

    minion: str
    pod: str
    reason: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    rollout: tuple[PlacedStep, ...] = ()
    """Rolling update steps, run one by one after the actions."""
    unschedulable: dict[str, str] = field(default_factory=dict)
    misfits: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Unschedulable pod -> minion -> why that minion is no candidate (what ``unschedulable`` summarises)."""
    failures: tuple[Failure, ...] = ()
    notes: tuple[str, ...] = ()
    unreachable: dict[str, str] = field(default_factory=dict)
    """Unreachable minion -> why."""
    refused: dict[str, str] = field(default_factory=dict)
    """Minion whose host key was refused -> why: an error, and not counted as unreachable."""
    converged: dict[str, int] = field(default_factory=dict)
    """Minion -> number of desired pods already as desired on it (Ansible's "ok")."""
    project: str = DEFAULT_PROJECT
    unknown: tuple[str, ...] = ()
    """Desired pods not found and not placed because every minion acted on is unreachable: their state is unknown."""

    @property
    def changes(self) -> bool:
        return bool(self.actions or self.rollout)


@dataclass(frozen=True)
class Options:
    scheduler: Scheduler
    limit: frozenset[str] | None = None
    """Only these minions are acted on (--limit); the others are observed and left alone."""
    probe_failures: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(minion, pod) -> why its liveness probe failed."""
    max_unavailable: int = 1
    spread_selectors: tuple[Mapping[str, str], ...] = ()
    project: str = DEFAULT_PROJECT
    """Only this project's pods are reconciled or removed; the others only hold ports and resources."""


def _restartable(pod: ObservedPod, desired: Pod) -> tuple[str, ...]:
    """Ids of the pod's stopped containers that its restart policy brings back (infra first)."""
    if pod.running:  # (every container running: none stopped, known without a scan)
        return ()
    policy = desired.spec.restart_policy
    stopped = [c for c in pod.containers if c.state == "exited"]  # created or dead: replaced (_broken)
    if not stopped:
        return ()
    ids = []
    for c in sorted(stopped, key=lambda c: c.container != INFRA_CONTAINER):
        if c.container == INFRA_CONTAINER or policy == "always" or (policy == "onFailure" and c.exit_code != 0):
            ids.append(c.id)
    return tuple(ids)


def _replace_reason(pod: ObservedPod, desired: Pod, probe_failure: str) -> str:
    """Why an existing pod must be replaced, or "" when it can stay."""
    if pod.spec_hash != pod_hash(desired):
        return "spec changed"
    broken = _broken(pod, desired)
    if broken:
        return broken
    infra = pod.infra
    if infra is not None and infra.state in ("exited", "dead") and any(c.state == "running" for c in pod.apps):
        return "infra container died"
    if probe_failure:
        return f"liveness probe failed: {probe_failure}"
    return ""


def _broken(pod: ObservedPod, desired: Pod) -> str:
    """Why the pod's containers are not one whole pod (a run killed half-way leaves such pods), or "".

    A whole pod is exactly one infra container and one container per container of the spec, all made from the
    same spec, each started at least once and none dead (Docker could not stop or remove it)."""
    containers, spec = pod.containers, desired.spec.containers
    named = {c.container for c in containers}
    if not (len(containers) == len(spec) + 1 == len(named) and named == {INFRA_CONTAINER, *(c.name for c in spec)}):
        names = [c.container for c in containers]  # (else each is there once)
        wanted = [INFRA_CONTAINER, *(c.name for c in spec)]
        missing = [n for n in wanted if n not in names]
        if INFRA_CONTAINER in missing:
            return "infra container missing"
        if missing:
            return "container " + ", ".join(missing) + " missing"
        extra = sorted({n or "(unlabelled)" for n in names if n not in wanted or names.count(n) > 1})
        if extra:
            return "unexpected container " + ", ".join(extra)
    if len({c.spec_hash for c in containers}) > 1:
        return "containers made from different specs"
    if pod.running:  # (every container running: none created or dead)
        return ""
    states = {c.state for c in containers}
    if "created" not in states and "dead" not in states:  # (a whole pod)
        return ""
    for state, why in (("created", "never started"), ("dead", "dead")):
        if state in states:
            found = sorted(c.container for c in containers if c.state == state)
            return "container " + ", ".join(found) + f" {why}"
    return ""


@dataclass
class _PlanBuilder:
    observed: Observed
    options: Options
    minions: Mapping[str, MinionInfo] = field(default_factory=dict)
    """Every minion of the inventory, for the consent a pod replaced in place still needs."""
    actions: list[Action] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    converged: dict[str, int] = field(default_factory=dict)
    kept: list[tuple[Pod, str]] = field(default_factory=list)
    """Each desired pod found on the cluster, with the minion where it stays (for the scheduler, see ``_placed``)."""
    new: list[Pod] = field(default_factory=list)
    removed: set[tuple[str, str]] = field(default_factory=set)

    def act(self, action: Action) -> None:
        if self.acts_on((action.minion,)):
            self.actions.append(action)

    def acts_on(self, minions: Iterable[str]) -> bool:
        """Every one of the minions is selected by --limit (or there is no limit)."""
        return self.options.limit is None or all(m in self.options.limit for m in minions)

    def remove(self, pod: ObservedPod, reason: str) -> None:
        self.removed.add((pod.minion, pod.name))
        self.act(Action("remove", pod.minion, reason, pod=pod.name, observed=pod))

    def existing(self, desired: Pod, pods: list[ObservedPod]) -> None:
        """A desired pod found on the cluster: keep one copy (the oldest running), reconcile it, remove the rest."""
        if len(pods) > 1:
            pods = sorted(pods, key=lambda p: (not p.running, p.created, p.minion))
        keep, extra = pods[0], pods[1:]
        for dup in extra:
            self.remove(dup, f"duplicate of {keep.name} on {keep.minion}")
        probe_failures = self.options.probe_failures
        probe_failure = probe_failures.get((keep.minion, keep.name), "") if probe_failures else ""
        reason = _replace_reason(keep, desired, probe_failure)
        self.kept.append((desired, keep.minion))
        if reason:
            minion = self.minions.get(keep.minion)
            refusal = consent_refusal(desired, minion) if minion else None
            if refusal:
                if self.acts_on((keep.minion,)):
                    why = f"cannot be replaced ({reason}): {refusal}"
                    self.failures.append(Failure(keep.minion, desired.name, why))
                return
            self.act(Action("replace", keep.minion, reason, pod=desired.name, desired=desired, observed=keep))
            return
        stopped = _restartable(keep, desired)
        if stopped:
            self.act(
                Action(
                    "start",
                    keep.minion,
                    f"restartPolicy {desired.spec.restart_policy}",
                    pod=desired.name,
                    observed=keep,
                    containers=stopped,
                )
            )
        else:
            self.converged[keep.minion] = self.converged.get(keep.minion, 0) + 1


def plan_pods(desired: Desired, observed: Observed, inventory: Inventory, options: Options) -> Plan:
    """The actions that make the project's pods on the cluster match ``desired``. Pods of other projects are never
    acted on; they count for scheduling. Raises InputError when a name of ``desired`` is another project's."""
    problems = foreign_names(desired, observed, options.project)
    if problems:
        raise InputError(problems)
    own = observed.of_project(options.project)
    replicas = plan_replicas(desired.controllers, desired.pods, own, options.max_unavailable)
    infos = {m.name: minion_info(m, observed.minions.get(m.name)) for m in inventory.minions}
    b = _PlanBuilder(own, options, infos)
    wanted: list[Pod] = [*desired.pods, *replicas.keep]
    _reconcile_wanted(b, wanted)
    b.new.extend(replicas.create)
    keep = {p.name for p in wanted} | {p.name for p in replicas.create} | set(replicas.rolling)
    _remove_unwanted(b, replicas, keep, {rc.name for rc in desired.controllers})
    _remove_leftover_volumes(b)

    minions = [info for info in infos.values() if options.limit is None or info.name in options.limit]
    unknown: tuple[str, ...] = ()
    if not any(m.reachable for m in minions):  # nothing can be placed, and nothing is known to be missing
        unknown, b.new[:] = tuple(p.name for p in b.new), []
    steps = tuple(s for s in replicas.rollout if b.acts_on(o.minion for o in s.remove))
    schedule, rollout = Schedule({}, {}), RolloutPlacement((), {})
    if b.new or steps:  # (else there is nothing to place: the placed pods of a converged cluster go unread)
        placed = _placed(b, observed, {p.name for p in wanted})
        schedule = options.scheduler(b.new, minions, placed, options.spread_selectors)
        placed_now = [*placed, *(PlacedPod.of(p, m) for p in b.new if (m := schedule.placements.get(p.name)))]
        rollout = place_rollout(steps, options.scheduler, minions, placed_now, options.spread_selectors)
    for new in b.new:
        where = schedule.placements.get(new.name)
        if where:
            why = f"replica of {new.controller}" if new.controller else "new pod"
            b.act(Action("create", where, f"{why}, scheduled on {where}", pod=new.name, desired=new))
    _images(b, inventory, [(minion, pod) for step in rollout.steps for pod, minion in step.create if minion])
    actions = sorted(b.actions, key=lambda a: (a.minion, VERB_ORDER[a.verb], a.subject))
    refused = observed.refused
    return Plan(
        actions=tuple(actions),
        rollout=rollout.steps,
        unschedulable={**schedule.unschedulable, **rollout.unschedulable},
        misfits={**schedule.misfits, **rollout.misfits},
        failures=tuple(b.failures),
        notes=(*replicas.notes, *b.notes),
        unreachable={name: observed.minions[name].error for name in observed.unreachable if name not in refused},
        refused={name: observed.minions[name].error for name in refused},
        converged=b.converged,
        project=options.project,
        unknown=unknown,
    )


def _placed(b: _PlanBuilder, observed: Observed, wanted: Set[str]) -> list[PlacedPod]:
    """The pods that stay where they are, as the scheduler sees them: the desired pods found on the cluster, then
    every other observed pod (other projects' too) not removed."""
    placed = [PlacedPod.of(desired, minion) for desired, minion in b.kept]
    for pod in observed.pods:
        if (pod.minion, pod.name) not in b.removed and pod.name not in wanted:
            placed.append(PlacedPod.observed(pod))
    return placed


def foreign_names(desired: Desired, observed: Observed, project: str) -> list[Problem]:
    """A problem for each pod or controller of ``desired`` whose name another project's pods already use:
    kubeplay never takes over another project's pods."""
    pods: dict[str, ObservedPod] = {}
    controllers: dict[str, ObservedPod] = {}
    for pod in observed.pods:
        if pod.project != project:
            pods.setdefault(pod.name, pod)
            if pod.controller:
                controllers.setdefault(pod.controller, pod)
    named = [("pod", p.name, p.source, pods.get(p.name)) for p in desired.pods]
    named += [("replication controller", rc.name, rc.source, controllers.get(rc.name)) for rc in desired.controllers]
    return [_taken(kind, name, source, other) for kind, name, source, other in named if other is not None]


def _taken(kind: str, name: str, source: Source, other: ObservedPod) -> Problem:
    where = f"pod {other.name} on {other.minion}" if kind != "pod" else f"on {other.minion}"
    return Problem(
        source.file,
        f"{kind} {name} exists in project {other.project} ({where}); kubeplay will not take it over: "
        f"rename it, or apply with -p {other.project}",
        source.line,
        f"{'Pod' if kind == 'pod' else 'ReplicationController'} {name}",
    )


def _reconcile_wanted(b: _PlanBuilder, wanted: Sequence[Pod]) -> None:
    """Each wanted pod found on the cluster is reconciled where it is; the others are new."""
    by_name: dict[str, list[ObservedPod]] = {}
    for pod in b.observed.pods:
        by_name.setdefault(pod.name, []).append(pod)
    unreachable = b.observed.unreachable
    for want in wanted:
        if want.name in by_name:
            b.existing(want, by_name[want.name])
            continue
        b.new.append(want)
        if unreachable and not want.controller:
            b.notes.append(
                f"pod {want.name}: not found on reachable minions; it may be on unreachable "
                f"{', '.join(unreachable)} (a duplicate is removed once that minion is back)"
            )


def _remove_unwanted(b: _PlanBuilder, replicas: ReplicaPlan, keep: Set[str], controllers: Set[str]) -> None:
    """Remove the replicas the controllers trim and every pod neither the manifests nor a controller keeps."""
    replica_removals = {(r.pod.minion, r.pod.name): r.reason for r in replicas.remove}
    for pod in b.observed.pods:
        reason = replica_removals.get((pod.minion, pod.name))
        if reason is None and pod.name not in keep and pod.controller not in controllers:
            # (a pod of a declared controller is left to the controller's own plan)
            reason = (
                f"replication controller {pod.controller} is gone from the manifests"
                if pod.controller
                else "not in the manifests"
            )
        if reason is not None:
            b.remove(pod, reason)


def _remove_leftover_volumes(b: _PlanBuilder) -> None:
    """kubeplay's volumes whose pod has no container left on their minion (a run killed between removing a pod's
    containers and its volumes leaves them) are removed, as a remove of that pod with no containers."""
    for minion in (m for m in b.observed.minions.values() if m.reachable):
        here = {p.name for p in minion.pods}
        orphans: dict[str, list[str]] = {}
        for volume, pod, _ in minion.volumes:
            if pod not in here:
                orphans.setdefault(pod, []).append(volume)
        for pod, volumes in sorted(orphans.items()):
            b.remove(ObservedPod(pod, minion.name, ()), f"volume {', '.join(volumes)} left by a pod that is gone")


def _images(b: _PlanBuilder, inventory: Inventory, rollout: Sequence[tuple[str, Pod]] = ()) -> None:
    """Pull and provision actions for the pods about to be created (``rollout``: (minion, pod) a rolling update
    creates later in the run), per minion and image pull policy. A pod whose PullNever image is missing fails
    on its minion and brings no pull with it."""
    creating: dict[str, list[Pod]] = {}
    for minion, pod in [*((a.minion, a.desired) for a in b.actions if a.desired is not None), *rollout]:
        creating.setdefault(minion, []).append(pod)
    for minion, all_pods in sorted(creating.items()):
        have = b.observed.minions[minion].images
        pods = [pod for pod in all_pods if not _missing_never_pulled(b, minion, pod, have)]
        if pods:
            _infra_image(b, inventory, minion, have)
            for image, reason in sorted(_pulls(pods, have).items()):
                b.act(Action("pull", minion, reason, image=image))
    never = {(f.minion, f.pod) for f in b.failures}
    b.actions[:] = [a for a in b.actions if (a.minion, a.pod) not in never or a.desired is None]


def _missing_never_pulled(b: _PlanBuilder, minion: str, pod: Pod, have: Set[str]) -> bool:
    """Record a failure when one of the pod's PullNever images is not on the minion."""
    for c in pod.spec.containers:
        if c.image_pull_policy == "PullNever" and image_ref(c.image) not in have:
            b.failures.append(
                Failure(minion, pod.name, f"image {c.image} is not on {minion}, imagePullPolicy PullNever")
            )
            return True
    return False


def _infra_image(b: _PlanBuilder, inventory: Inventory, minion: str, have: Set[str]) -> None:
    infra = inventory.infra_image or INFRA_IMAGE
    if image_ref(infra) in have:
        return
    if inventory.infra_image:
        b.act(Action("pull", minion, "infra image missing", image=infra))
    else:
        b.act(Action("provision", minion, "kubeplay's infra image is not on the minion yet", image=infra))


def _pulls(pods: Sequence[Pod], have: Set[str]) -> dict[str, str]:
    """Image -> why it is pulled, per the containers' pull policies."""
    pulls: dict[str, str] = {}
    for c in (c for pod in pods for c in pod.spec.containers):
        if c.image_pull_policy == "PullAlways":
            pulls.setdefault(c.image, "imagePullPolicy PullAlways")
        elif c.image_pull_policy == "PullIfNotPresent" and image_ref(c.image) not in have:
            pulls.setdefault(c.image, "image not present")
    return pulls
