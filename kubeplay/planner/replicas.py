"""Replication controller planning: which replicas to create, keep, remove and roll out. Pure, no I/O.

What a controller counts (its *live* pods) is what the original replication manager counted: every pod matching
its selector, whoever made it, that is going to stay:

  * observed pods on reachable minions that are replicas of this controller or of another controller in the
    manifests, or standalone pods still in the manifests (pods the pod planner is about to remove do not count:
    replicas of a controller gone from the manifests, standalone pods gone from them);
  * unless *terminated for good*: every app container exited or dead, and the restart policy will not bring them
    back ("never", or "onFailure" with every exit code 0). A pod whose containers the pod planner will restart
    (policy "always", a failure under "onFailure") counts, as not running;
  * desired standalone pods not observed on any reachable minion: the pod planner is about to create them, so the
    seed's redis.json and redisController.json applied together make exactly one Redis pod.

Pods on unreachable minions are unknown: not counted (so replacements are created on reachable minions) and never
removed. When the minion is back they are observed again and the surplus is trimmed to the exact count.
A controller only ever removes its own replicas (``controller`` == its name); standalone pods count but stay.

Scale-down order: pods not running, then replicas of an older template (so an interrupted rollout resumes rather
than undoes itself), then pods on the minion with the most replicas of this controller, then the newest.

Names of new replicas are ``<controller>-<suffix>``: a 5-character suffix hashed from the controller name and the
lowest sequence number whose name is not taken by an observed or desired pod, so the same cluster gives the same
names on every run. While minions are unreachable the names of their pods are unknown, so the hash also takes the
sorted names of the unreachable minions: a replacement can never reuse the name of a pod it replaces.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from operator import attrgetter

from kubeplay.dataclass import dataclass
from kubeplay.errors import ManifestError
from kubeplay.manifests.controllers import controller_problem
from kubeplay.model import Observed, ObservedPod, Pod, ReplicationController
from kubeplay.pods.spechash import spec_hash
from kubeplay.selectors import format_selector, matches, selecting

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' alphabet for generated names: no vowels (no words), no 0/1/3 (no look-alikes)."""
SUFFIX_LENGTH = 5


@dataclass(frozen=True)
class Removal:
    pod: ObservedPod
    reason: str


@dataclass(frozen=True)
class RolloutStep:
    """One step of a rolling update: create ``create``, wait until all are running, then remove ``remove`` (remove
    first when the step is placed in place, see ``ReplicaPlan``)."""

    controller: str
    create: tuple[Pod, ...]
    remove: tuple[ObservedPod, ...]


@dataclass(frozen=True)
class ReplicaPlan:
    """What the controllers need, for the pod planner and the executor.

    Contract:
      * ``create``: new replicas to schedule and create now (scale-up and replacements), from the current template.
      * ``keep``: replicas that stay, as desired pods carrying the observed pod's name; their hash matches the
        observed one, so the pod planner only restarts them per restart policy.
      * ``remove``: replicas to remove now, each with its reason (scale-down, terminated for good, no longer
        matching the selector). Never a pod on an unreachable minion, never a standalone pod.
      * ``rollout``: replicas of an older template, replaced in order, one step at a time. The pod planner places
        every step's ``create`` before anything runs (kubeplay.planner.rollout); the executor then creates them,
        waits until every one of them is running, removes ``remove`` (at most ``max_unavailable`` per step), and
        only then starts the next step. If a created pod does not come up the rollout stops there and is reported;
        the next run plans the rest again from what it observes. A step whose new pods fit nowhere while its old
        ones stand (a host port on every minion, full capacity) is placed *in place*: its old pods are removed
        first and the new pods go where they were, so the step's old pods are then the at most
        ``max_unavailable`` pods down. The pods in ``rolling`` are left alone by the pod planner: they are neither
        kept (their hash differs) nor removed other than by their step.
      * ``notes``: one line per thing worth telling the user (progress, unknown minions, scale changes).
    """

    create: tuple[Pod, ...] = ()
    keep: tuple[Pod, ...] = ()
    remove: tuple[Removal, ...] = ()
    rollout: tuple[RolloutStep, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def rolling(self) -> frozenset[str]:
        """Names of the observed pods the rollout steps replace."""
        return frozenset(p.name for step in self.rollout for p in step.remove)


def plan_replicas(
    controllers: Sequence[ReplicationController],
    standalone: Sequence[Pod],
    observed: Observed,
    max_unavailable: int = 1,
) -> ReplicaPlan:
    """Plan every controller against the observed cluster (see the module docstring for what counts).

    Raises ManifestError when a pod on the cluster is matched by two controllers' selectors.
    """
    context = _Context.build(controllers, standalone, observed)
    _check_observed(controllers, observed, context)
    if max_unavailable < 1:
        raise ValueError("max_unavailable must be at least 1")
    plans = [_plan_controller(rc, context, max_unavailable) for rc in controllers]
    return ReplicaPlan(
        create=tuple(p for plan in plans for p in plan.create),
        keep=tuple(p for plan in plans for p in plan.keep),
        remove=tuple(r for plan in plans for r in plan.remove),
        rollout=tuple(s for plan in plans for s in plan.rollout),
        notes=tuple(n for plan in plans for n in plan.notes),
    )


# --- checks ---------------------------------------------------------------------------------------------------


def _check_observed(controllers: Sequence[ReplicationController], observed: Observed, context: _Context) -> None:
    """A pod on the cluster that two controllers' selectors both match: each would count it (the manifests' own
    conflicts are found when they are loaded, see kubeplay.manifests.controllers). Each controller's pods are
    found by its selector's indexed pair; only when a pod is found twice are the pods gone through one by one."""
    found = [id(pod) for rc in controllers for pod in context.selected(rc)]
    if len(set(found)) < len(found):
        _check_every_pod(controllers, observed)


def _check_every_pod(controllers: Sequence[ReplicationController], observed: Observed) -> None:
    problems = []
    owning = selecting([rc.selector for rc in controllers])
    for pod in observed.pods:
        owners = [controllers[n] for n in owning(pod.labels)]
        if len(owners) > 1:
            names = " and ".join(f"ReplicationController {rc.name}" for rc in owners)
            message = (
                f"pod {pod.name} on {pod.minion} (labels {format_selector(pod.labels)}) is matched by the selectors "
                f"of {names}: each would count it; change a selector, or relabel or delete that pod"
            )
            problems.append(controller_problem(owners[0], message))
    if problems:
        raise ManifestError(problems)


# --- what every controller sees -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    observed: Observed
    standalone: Mapping[str, Pod]
    controller_names: frozenset[str]
    pods_by_label: Mapping[tuple[str, str], Sequence[ObservedPod]]
    """Observed pods on reachable minions, by each of their labels."""
    pods_by_controller: Mapping[str, Sequence[ObservedPod]]
    pending_standalone: tuple[Pod, ...]
    """Desired standalone pods not observed on a reachable minion: the pod planner creates them."""
    taken_names: set[str]
    """Every pod name in use or about to be, grown as replicas are named."""
    name_salt: str
    next_sequence: dict[str, int]
    """Per controller, the sequence number to try next for a replica name (taken names only ever grow)."""

    @classmethod
    def build(
        cls, controllers: Sequence[ReplicationController], standalone: Sequence[Pod], observed: Observed
    ) -> _Context:
        pods = observed.pods
        by_label: dict[tuple[str, str], list[ObservedPod]] = defaultdict(list)
        by_controller: dict[str, list[ObservedPod]] = defaultdict(list)
        for pod in sorted(pods, key=_place):  # (so is each list: see ``candidates``)
            for item in pod.labels.items():
                by_label[item].append(pod)
            by_controller[pod.controller].append(pod)
        observed_names = {p.name for p in pods}
        unreachable_pods = {p.name for m in observed.minions.values() if not m.reachable for p in m.pods}
        return cls(
            observed=observed,
            standalone={p.name: p for p in standalone},
            controller_names=frozenset(rc.name for rc in controllers),
            pods_by_label=by_label,
            pods_by_controller=by_controller,
            pending_standalone=tuple(p for p in standalone if p.name not in observed_names),
            taken_names=observed_names | unreachable_pods | {p.name for p in standalone},
            name_salt=",".join(sorted(observed.unreachable)),
            next_sequence={},
        )

    def candidates(self, rc: ReplicationController) -> list[ObservedPod]:
        """The observed pods the controller has to look at, by minion and name: its own and those with one of its
        selector's labels (the pair indexed: a pod the selector matches has it)."""
        pair, matching = self._indexed(rc)
        own = self.pods_by_controller.get(rc.name, ())
        others = [p for p in own if pair is None or pair not in p.labels.items()]  # (not in ``matching``)
        return sorted([*matching, *others], key=_place) if others else list(matching)

    def selected(self, rc: ReplicationController) -> list[ObservedPod]:
        """The observed pods the controller's selector matches, by minion and name."""
        return [p for p in self._indexed(rc)[1] if matches(rc.selector, p.labels)]

    def _indexed(self, rc: ReplicationController) -> tuple[tuple[str, str] | None, Sequence[ObservedPod]]:
        """The selector's indexed pair (its least), and the observed pods that have it, by minion and name."""
        pair = min(rc.selector.items()) if rc.selector else None
        return pair, self.pods_by_label.get(pair, ()) if pair else ()

    def restart_policy(self, pod: ObservedPod, rc: ReplicationController) -> str:
        if pod.controller == rc.name:
            return rc.template.spec.restart_policy
        desired = self.standalone.get(pod.name)
        return desired.spec.restart_policy if desired and not pod.controller else "always"

    def stays(self, pod: ObservedPod) -> bool:
        """The pod planner will not remove it as gone from the manifests."""
        if pod.controller:
            return pod.controller in self.controller_names
        return pod.name in self.standalone

    def new_name(self, rc: ReplicationController) -> str:
        sequence = self.next_sequence.get(rc.name, 0)
        while True:
            name = f"{rc.name}-{replica_suffix(rc.name, sequence, self.name_salt)}"
            sequence += 1
            if name not in self.taken_names:
                self.taken_names.add(name)
                self.next_sequence[rc.name] = sequence
                return name


_place = attrgetter("minion", "name")
"""A pod's (minion, name): the order of the pods a controller looks at."""


def replica_suffix(controller: str, sequence: int, salt: str = "") -> str:
    """The deterministic name suffix of a controller's replica number ``sequence``."""
    digest = hashlib.sha256(f"{controller}\0{sequence}\0{salt}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(SUFFIX_LENGTH):
        number, index = divmod(number, len(SUFFIX_ALPHABET))
        chars.append(SUFFIX_ALPHABET[index])
    return "".join(chars)


def terminated_for_good(pod: ObservedPod, restart_policy: str) -> bool:
    """Every app container exited or dead, and the restart policy will not restart them."""
    if pod.running:  # (every app container running: the common case, known without a scan)
        return False
    apps = pod.apps
    if not apps or any(c.state not in ("exited", "dead") for c in apps):
        return False
    if restart_policy == "never":
        return True
    return restart_policy == "onFailure" and all(c.exit_code == 0 for c in apps)


# --- one controller ---------------------------------------------------------------------------------------------


def _plan_controller(rc: ReplicationController, context: _Context, max_unavailable: int) -> ReplicaPlan:
    template_hash = spec_hash(rc.template.spec, rc.template.labels)
    live, removals = _live_pods(rc, context)
    pending = [p for p in context.pending_standalone if matches(rc.selector, p.labels)]
    counted = len(live) + len(pending)
    own = [p for p in live if p.controller == rc.name]
    notes = _not_owned_note(rc, live, pending)

    surplus = counted - rc.replicas
    victims = _scale_down_order(own, own, template_hash, limit=max(surplus, 0))
    removals.extend(Removal(v, f"scale down to {rc.replicas} ({counted} live): {why}") for v, why in victims)
    if surplus > len(victims):
        extra = surplus - len(victims)
        notes.append(f"{rc.name}: {counted} live, {rc.replicas} desired; {extra} extra not its own, left alone")
    removed = {v.name for v, _ in victims}
    staying = [p for p in own if p.name not in removed]

    create = tuple(rc.replica(context.new_name(rc)) for _ in range(max(-surplus, 0)))
    if create:
        unknown = _unknown(rc, context)
        detail = f" ({unknown}: not counted, replaced here, trimmed when back)" if unknown else ""
        notes.append(f"{rc.name}: {counted} live, {rc.replicas} desired: creating {len(create)}{detail}")
    elif victims:
        notes.append(f"{rc.name}: {counted} live, {rc.replicas} desired: removing {len(victims)}")

    keep, rollout, rollout_notes = _roll_out(rc, staying, template_hash, context, max_unavailable)
    notes.extend(rollout_notes)
    return ReplicaPlan(create, keep, tuple(removals), rollout, tuple(notes))


def _roll_out(
    rc: ReplicationController,
    staying: Sequence[ObservedPod],
    template_hash: str,
    context: _Context,
    max_unavailable: int,
) -> tuple[tuple[Pod, ...], tuple[RolloutStep, ...], list[str]]:
    """Replicas of the current template are kept; the others are replaced by rollout steps, worst first."""
    keep = tuple(rc.replica(p.name) for p in staying if p.spec_hash == template_hash)
    outdated = [p for p in staying if p.spec_hash != template_hash]
    ordered = [p for p, _ in _scale_down_order(outdated, staying, template_hash, limit=len(outdated))]
    steps = []
    for start in range(0, len(ordered), max_unavailable):
        batch = tuple(ordered[start : start + max_unavailable])
        steps.append(RolloutStep(rc.name, tuple(rc.replica(context.new_name(rc)) for _ in batch), batch))
    if not steps:
        return keep, (), []
    note = (
        f"{rc.name}: template changed: {len(keep)} of {len(staying)} replicas up to date, "
        f"rolling out {len(outdated)} in {len(steps)} step(s), at most {max_unavailable} unavailable"
    )
    return keep, tuple(steps), [note]


def _live_pods(rc: ReplicationController, context: _Context) -> tuple[list[ObservedPod], list[Removal]]:
    """The observed pods the controller counts, and its own replicas it removes outright."""
    live: list[ObservedPod] = []
    removals: list[Removal] = []
    for pod in context.candidates(rc):
        selected = matches(rc.selector, pod.labels)
        own = pod.controller == rc.name
        if own and not selected:
            reason = f"replica of {rc.name} no longer matches its selector {format_selector(rc.selector)}"
            removals.append(Removal(pod, reason))
        elif not selected or not (own or context.stays(pod)):  # (its own replicas stay: it is in the manifests)
            continue
        elif pod.running or not terminated_for_good(pod, context.restart_policy(pod, rc)):  # (running: not, known)
            live.append(pod)
        elif own:
            policy = rc.template.spec.restart_policy
            removals.append(Removal(pod, f"terminated under restartPolicy {policy}: replaced"))
    return live, removals


def _not_owned_note(rc: ReplicationController, live: Sequence[ObservedPod], pending: Sequence[Pod]) -> list[str]:
    others = sorted([p.name for p in pending] + [p.name for p in live if p.controller != rc.name])
    return [f"{rc.name}: counts {len(others)} pod(s) it does not own: {', '.join(others)}"] if others else []


def _unknown(rc: ReplicationController, context: _Context) -> str:
    """What is unknown on unreachable minions, for the note on replacements; empty if every minion answered."""
    parts = []
    for name in context.observed.unreachable:
        known = [p for p in context.observed.minions[name].pods if p.controller == rc.name]
        parts.append(f"{len(known)} replica(s) on unreachable {name}" if known else f"pods on unreachable {name}")
    return ", ".join(parts) + " unknown" if parts else ""


def _scale_down_order(
    candidates: Sequence[ObservedPod], replicas: Sequence[ObservedPod], template_hash: str, limit: int
) -> list[tuple[ObservedPod, str]]:
    """The first ``limit`` candidates in removal order, each with why it comes there.

    Replicas per minion are counted over ``replicas`` (all of the controller's live replicas) and updated as
    candidates go, so removals spread over the crowded minions.
    """
    if limit <= 0 or not candidates:  # (a controller as desired: nothing to count)
        return []
    per_minion = Counter(p.minion for p in replicas)
    remaining = list(candidates)
    order: list[tuple[ObservedPod, str]] = []
    while remaining and len(order) < limit:
        fewest = min(per_minion[p.minion] for p in remaining)
        victim = max(remaining, key=lambda p: _victim_rank(p, per_minion, template_hash))
        order.append((victim, _victim_reason(victim, per_minion, fewest, template_hash)))
        remaining.remove(victim)
        per_minion[victim.minion] -= 1
    return order


def _victim_rank(
    pod: ObservedPod, per_minion: Mapping[str, int], template_hash: str
) -> tuple[bool, bool, int, str, str]:
    return (not pod.running, pod.spec_hash != template_hash, per_minion[pod.minion], pod.created, pod.name)


def _victim_reason(pod: ObservedPod, per_minion: Mapping[str, int], fewest: int, template_hash: str) -> str:
    if not pod.running:
        return "not running"
    if pod.spec_hash != template_hash:
        return "older template"
    if per_minion[pod.minion] > fewest:
        return f"{per_minion[pod.minion]} replicas on {pod.minion}"
    return f"newest (created {pod.created})" if pod.created else "newest"
