"""The body of `kubeplay describe pod|rc|service|minion NAME`: everything known about one object, as a block of
"Label: value" lines.

The blocks are pure functions of what was observed, read and planned (``pod_block``, ``pending_pod_block``,
``controller_block``, ``service_block``, ``minion_block``); ``describe`` gathers those facts over the connections
(each container's runs, its liveness probe, the minions' proxy rules) and shows the block. With -f, what the
manifests declare but the cluster does not (yet) hold is described as Pending, with the reason the plan gives: the
minion the next apply puts it on, or the scheduler's reason for every minion it fits nowhere.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from kubeplay import reconcile
from kubeplay.cli import render, views
from kubeplay.cli.args import CONTROLLER_KINDS, MINION_KINDS, POD_KINDS, SERVICE_KINDS
from kubeplay.cli.commands import (
    connector_for,
    load_inputs,
    unreachable_or,
    warn_ignored,
)
from kubeplay.cli.exitcodes import EXIT_OK
from kubeplay.connectors.base import ContainerState, MinionConnection
from kubeplay.dataclass import dataclass, field
from kubeplay.errors import DockerError, KubeplayError
from kubeplay.kubelet.probe import run_probe
from kubeplay.model import (
    Container,
    Desired,
    ObservedContainer,
    ObservedMinion,
    ObservedPod,
    Pod,
    ReplicationController,
    Service,
)
from kubeplay.planner.pods import Options, Plan, plan_pods
from kubeplay.planner.scheduler import PlacedPod, get_scheduler
from kubeplay.pods.labels import read_probes
from kubeplay.proxy.endpoints import compute_endpoints, endpoints_key
from kubeplay.proxy.plan import MinionNetwork, observed_portals, serving_pods
from kubeplay.proxy.portals import allocate_portals
from kubeplay.proxy.rules import kept_services
from kubeplay.quantities import format_cpu, format_memory
from kubeplay.selectors import format_selector, matches

Lines = list[str]

KINDS: Mapping[str, str] = {
    **dict.fromkeys(POD_KINDS, "pod"),
    **dict.fromkeys(CONTROLLER_KINDS, "rc"),
    **dict.fromkeys(SERVICE_KINDS, "service"),
    **dict.fromkeys(MINION_KINDS, "minion"),
}
"""Every kind `describe` takes -> the kind it means."""


class NotDescribed(KubeplayError):
    """No object of that kind and name is on the cluster or in the manifests given."""


def line(label: str, value: object, indent: int = 0) -> str:
    """One "Label:  value" line, values aligned."""
    return f"{' ' * indent}{label + ':':<{16 - indent}}{value}"


def _labels(labels: Mapping[str, str]) -> str:
    return format_selector(labels) or "<none>"


# --- pods ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerFacts:
    """One app container of a pod with what was asked of its minion about it."""

    observed: ObservedContainer
    state: ContainerState | None
    """None when Docker could not say."""
    liveness: str
    """"passed", "failed: why", "none declared", ..."""


def container_lines(facts: ContainerFacts) -> Lines:
    c, state = facts.observed, facts.state
    lines = [f"  {c.container}:", line("Image", c.image, 4), line("State", c.state, 4)]
    if state is None:
        return [*lines, line("Restarts", "unknown (Docker did not say)", 4), line("Liveness", facts.liveness, 4)]
    if state.started_at:
        lines.append(line("Started", state.started_at, 4))
    lines.append(line("Restarts", state.restart_count, 4))
    lines.append(line("Last exit", _last_exit(state), 4))
    return [*lines, line("Liveness", facts.liveness, 4)]


def _last_exit(state: ContainerState) -> str:
    if not state.finished_at:
        return "<none>: it never stopped"
    why = " (killed: out of memory)" if state.oom_killed else f" ({state.error})" if state.error else ""
    if state.status == "running":  # Docker keeps the time of the last stop, not its exit code, once restarted
        return f"at {state.finished_at}{why} (its code is not kept once restarted)"
    return f"{state.exit_code} at {state.finished_at}{why}"


def pod_block(
    pod: ObservedPod,
    minion: ObservedMinion,
    containers: Sequence[ContainerFacts],
    services: Sequence[str],
) -> Lines:
    """A pod on the cluster: where it runs, its IPs, each container's state and runs, the services it backs."""
    return [
        line("Name", pod.name),
        line("Project", pod.project),
        line("Minion", f"{minion.name}/{minion.address}" if minion.address else minion.name),
        line("Pod IP", pod.ip or "<none>"),
        line("Status", views.pod_status(pod)),
        line("Labels", _labels(pod.labels)),
        line("Controller", pod.controller or "<none>"),
        line("Created", pod.created or "unknown"),
        "Containers:",
        *(text for facts in containers for text in container_lines(facts)),
        line("Services", ", ".join(services) or "<none>"),
    ]


def backed_services(pod: ObservedPod, networks: Mapping[str, MinionNetwork]) -> list[str]:
    """The services whose proxy rules (on any minion read) send traffic to the pod: "name (portal IP)"."""
    if not pod.ip:
        return []
    portals = observed_portals(networks)
    names = {
        s.name
        for n in networks.values()
        if not n.error
        for s in kept_services(n.rules, lambda project, name: True)
        if pod.ip in s.endpoint_ips
    }
    return [f"{name} ({portals[name]})" if name in portals else name for name in sorted(names)]


@dataclass(frozen=True)
class Pending:
    """Why a pod the manifests declare is not on the cluster (yet), as the plan says."""

    status: str
    """Pending, or Unknown (it may be on an unreachable minion)."""
    reason: str
    misfits: Mapping[str, str] = field(default_factory=dict)
    """Minion -> why the pod fits nowhere there (the scheduler's reason per minion), for an unschedulable pod."""

    def lines(self) -> Lines:
        details = [line(minion, why, 2) for minion, why in sorted(self.misfits.items())]
        return [line("Status", self.status), line("Reason", self.reason), *details]


def pending_reason(name: str, plan: Plan) -> Pending | None:
    """Why a pod the manifests declare is not on the cluster, as the plan says; None when the plan does not know it."""
    if name in plan.unschedulable:
        return Pending("Pending", f"unschedulable: {plan.unschedulable[name]}", plan.misfits.get(name, {}))
    if name in plan.unknown:
        return Pending("Unknown", "every minion is unreachable: it may be on one")
    for f in plan.failures:
        if f.pod == name:
            return Pending("Pending", f"cannot be created on {f.minion}: {f.reason}")
    for a in plan.actions:
        if a.verb == "create" and a.pod == name:
            return Pending("Pending", f"not created yet: the next apply creates it ({a.reason})")
    for step in plan.rollout:
        for new, minion in step.create:
            if new.name == name:
                where = f"on {minion}" if minion else "where the rollout finds room"
                return Pending("Pending", f"rolling update of {step.controller}: next {where}")
    return None


def pending_pod_block(pod: Pod, pending: Pending) -> Lines:
    """A pod the manifests declare that is not on the cluster (yet)."""
    return [
        line("Name", pod.name),
        line("Labels", _labels(pod.labels)),
        line("Controller", pod.controller or "<none>"),
        line("Declared in", str(pod.source)),
        *pending.lines(),
        "Containers:",
        *(text for c in pod.spec.containers for text in (f"  {c.name}:", line("Image", c.image, 4))),
    ]


# --- replication controllers -------------------------------------------------------------------------------------


def controller_block(rc: ReplicationController, pods: Sequence[ObservedPod], plan: Plan) -> Lines:
    """A controller of the manifests: its selector, desired and live counts, its pods, and each replica still to be
    placed with the reason (for one that fits nowhere, the scheduler's reason per minion)."""
    live = sorted((p for p in pods if matches(rc.selector, p.labels)), key=lambda p: p.name)
    running = sum(1 for p in live if views.pod_status(p) == "Running")
    created = {a.pod for a in plan.actions if a.verb == "create" and a.desired and a.desired.controller == rc.name}
    pending = sorted(
        created
        | {n for n in plan.unschedulable if _replica_of(rc, n)}
        | {new.name for step in plan.rollout if step.controller == rc.name for new, _ in step.create}
    )
    lines = [
        line("Name", rc.name),
        line("Selector", _labels(rc.selector)),
        line("Labels", _labels(rc.labels)),
        line("Images", ", ".join(c.image for c in rc.template.spec.containers)),
        line("Declared in", str(rc.source)),
        line("Replicas", f"{rc.replicas} desired, {len(live)} live, {running} running"),
        "Pods:" if live else line("Pods", "<none>"),
        *(f"  {p.name:<24} {p.minion:<16} {views.pod_status(p)}" for p in live),
    ]
    if pending:
        lines.append("Pending replicas:")
        for name in pending:
            why = pending_reason(name, plan)
            if why is not None:
                lines += [f"  {name}: {why.reason}", *(f"    {m}: {r}" for m, r in sorted(why.misfits.items()))]
    return lines


def _replica_of(rc: ReplicationController, pod: str) -> bool:
    """Whether a pod name is one of the controller's replica names (``<controller>-<5 characters>``)."""
    return pod.rpartition("-")[0] == rc.name


# --- services --------------------------------------------------------------------------------------------------


def service_block(service: Service, portal: str, applied: bool, pods: Sequence[ObservedPod]) -> Lines:
    """A service of the manifests: its portal, ports and endpoints; Pending when no minion has its rules yet."""
    found = compute_endpoints([service], serving_pods(pods, ()))
    ports = [f"{p.port}/{p.protocol} -> {p.target_port}" + (f" ({p.name})" if p.name else "") for p in service.ports]
    endpoints = [f"{e} ({e.pod})" for p in service.ports for e in found.get(endpoints_key(service, p), ())]
    lines = [
        line("Name", service.name),
        line("Labels", _labels(service.labels)),
        line("Selector", _labels(service.selector)),
        line("Portal IP", portal if applied else f"{portal or '<none>'} (given on the next apply)"),
        line("Ports", ", ".join(ports)),
        line("Endpoints", ", ".join(endpoints) or "<none>"),
        line("Affinity", service.session_affinity),
        line("Declared in", str(service.source)),
    ]
    if not applied:
        lines.append(line("Status", "Pending: no minion has its proxy rules yet (apply writes them)"))
    return lines


def observed_service_block(name: str, portal: str, project: str, endpoint_ips: Sequence[str]) -> Lines:
    """A service only the minions' rules know (its manifest was not given)."""
    return [
        line("Name", name),
        line("Project", project),
        line("Portal IP", portal or "<none>"),
        line("Endpoints", ", ".join(sorted(endpoint_ips)) or "<none>"),
        line("Ports", "in its manifest: name it with -f to see its ports and selector"),
    ]


# --- minions ---------------------------------------------------------------------------------------------------


def minion_block(row: views.MinionRow, pods: Sequence[ObservedPod]) -> Lines:
    """What `get minions` shows of a minion, then its pods with their requests."""
    cells = dict(zip(render.MINION_COLUMNS, render.minion_cells(row), strict=True))
    lines = [line(label, value or "<none>") for label, value in cells.items() if label != "Pods"]
    lines += [line("Pod subnet", row.pod_subnet or "unknown")] + ([line("Error", row.error)] if row.error else [])
    if not row.reachable:
        return [*lines, line("Pods", "unknown: it could not be reached")]
    lines.append(line("Pods", len(pods)))
    for p in sorted(pods, key=lambda p: p.name):
        placed = PlacedPod.observed(p)
        requests = f"cpu {format_cpu(placed.cpu)}, memory {format_memory(placed.memory)}"
        lines.append(f"  {p.name:<24} {p.project:<16} {views.pod_status(p):<11} {requests}")
    return lines


# --- gathering the facts ----------------------------------------------------------------------------------------


def liveness(conn: MinionConnection, pod: ObservedPod, c: ObservedContainer, now: datetime) -> str:
    """The container's liveness probe (as kept on its pod) run now from its minion: "passed" or why not."""
    infra = pod.infra
    probe = read_probes(infra.labels if infra else {}).get(c.container)
    if probe is None:
        return "none declared"
    if c.state != "running":
        return f"not run: the container is {c.state}"
    if c.created and (now - datetime.fromisoformat(c.created)).total_seconds() < probe.initial_delay_seconds:
        return f"not run yet (initialDelaySeconds {probe.initial_delay_seconds})"
    why = run_probe(conn, pod, Container(c.container, c.image, ports=pod.ports, liveness_probe=probe), c)
    return f"failed: {why}" if why else f"passed ({probe.kind})"


def container_facts(conn: MinionConnection, pod: ObservedPod) -> list[ContainerFacts]:
    now = datetime.now(UTC)
    facts = []
    for c in sorted(pod.apps, key=lambda c: c.container):
        try:
            state: ContainerState | None = conn.docker().container_state(c.id)
        except DockerError:
            state = None
        facts.append(ContainerFacts(c, state, liveness(conn, pod, c, now)))
    return facts


def _plan(inputs: reconcile.Inputs, seen: reconcile.Observation) -> Plan:
    """What the next apply of these manifests would do (pure; no probe is run)."""
    options = Options(
        scheduler=get_scheduler("default"),
        spread_selectors=tuple(s.selector for s in inputs.desired.services),
        project=inputs.project,
    )
    return plan_pods(inputs.desired, seen.observed, inputs.inventory, options)


def _declared_pod(inputs: reconcile.Inputs, name: str) -> Pod | None:
    """The pod of that name the manifests declare, or would make as a controller's replica."""
    for p in inputs.desired.pods:
        if p.name == name:
            return p
    return next((rc.replica(name) for rc in inputs.desired.controllers if _replica_of(rc, name)), None)


def describe_pod(name: str, inputs: reconcile.Inputs, seen: reconcile.Observation) -> Lines:
    observed = seen.observed
    found = sorted((p for p in observed.pods if p.name == name), key=lambda p: (not p.running, p.created, p.minion))
    if found:
        pod = found[0]
        facts = container_facts(seen.connections[pod.minion], pod)
        return pod_block(pod, observed.minions[pod.minion], facts, backed_services(pod, seen.networks))
    declared = _declared_pod(inputs, name)
    reason = pending_reason(name, _plan(inputs, seen)) if declared else None
    if declared is None or reason is None:
        raise NotDescribed(_not_found("pod", name, observed.unreachable, inputs))
    unknown = [line("Note", f"{m} unreachable: it may be there") for m in observed.unreachable]
    return [*pending_pod_block(declared, reason), *unknown]


CONTROLLERS_LIVE_IN_MANIFESTS = (
    "describe rc needs the manifests that declare the controller (its desired count and template): name them with "
    "-f, e.g. kubeplay describe rc NAME -f manifests/ (kubeplay get rc without -f lists the live ones)"
)


def describe_controller(name: str, inputs: reconcile.Inputs, seen: reconcile.Observation) -> Lines:
    if inputs.desired == Desired():  # no manifests given
        raise NotDescribed(CONTROLLERS_LIVE_IN_MANIFESTS)
    rc = next((rc for rc in inputs.desired.controllers if rc.name == name), None)
    if rc is None:
        raise NotDescribed(_not_found("replication controller", name, (), inputs))
    return controller_block(rc, seen.observed.pods, _plan(inputs, seen))


def describe_service(name: str, inputs: reconcile.Inputs, seen: reconcile.Observation) -> Lines:
    known = observed_portals(seen.networks)
    service = next((s for s in inputs.desired.services if s.name == name), None)
    if service is not None:
        portals = allocate_portals(inputs.desired.services, known, inputs.inventory.portal_net)
        return service_block(service, portals.get(name, ""), name in known, seen.observed.pods)
    kept = [s for n in seen.networks.values() if not n.error for s in kept_services(n.rules, lambda p, s: s == name)]
    if not kept:
        raise NotDescribed(_not_found("service", name, seen.observed.unreachable, inputs))
    return observed_service_block(name, known.get(name, ""), kept[0].project, sorted(kept[0].endpoint_ips))


def describe_minion(name: str, inputs: reconcile.Inputs, seen: reconcile.Observation) -> Lines:
    minion = next((m for m in inputs.inventory.minions if m.name == name), None)
    if minion is None:
        known = ", ".join(m.name for m in inputs.inventory.minions)
        raise NotDescribed(f"minion {name} is not in the inventory {inputs.inventory.source} (its minions: {known})")
    observed = seen.observed.minions.get(name)
    return minion_block(views.minion_row(minion, observed), observed.pods if observed and observed.reachable else ())


def _not_found(kind: str, name: str, unreachable: Sequence[str], inputs: reconcile.Inputs) -> str:
    where = "on the cluster" + (" or in the manifests given" if inputs.desired != Desired() else "")
    if kind == "replication controller":
        where = "in the manifests given"
    unknown = f"; {', '.join(unreachable)} unreachable: it may be there" if unreachable else ""
    return f"no {kind} named {name} {where}{unknown}"


DESCRIBERS = {"pod": describe_pod, "rc": describe_controller, "service": describe_service, "minion": describe_minion}


def describe(args: argparse.Namespace) -> int:
    kind = KINDS[args.kind]
    inputs = load_inputs(args, args.filename)
    network = kind in ("pod", "service")
    with reconcile.observe(inputs, connector_for(args, inputs), args.forks, network=network) as seen:
        warn_ignored(seen.observed)
        lines = DESCRIBERS[kind](args.name, inputs, seen)
    render.described(lines)
    return unreachable_or(EXIT_OK, seen.observed)
