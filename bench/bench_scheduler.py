"""Scheduling alone on a simulated cluster: 10,000 new pods from 100 controllers onto 1,000 minions.

Run: ``python bench/bench_scheduler.py [--pods N] [--controllers N] [--minions N] [--repeat N]``.
Prints pods placed per second for each scheduler side by side, placement quality, then replica planning and the
whole pure plan (``kubeplay.planner.pods.plan_pods``) for the same cluster. No network, no Docker.

The cluster: minions of three sizes, a third labelled disk=ssd, zones a/b/c, a few cordoned and a few unreachable,
1,000 pods already placed. Controllers: a fifth publish a host port (two controllers share each port, so they
conflict with each other), a tenth need disk=ssd, a tenth need a zone, all request cpu and memory; the last
controller asks for labels no minion has (its pods are unschedulable). One service selector per two controllers
is passed as spread selectors.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubeplay.model import (
    INFRA_CONTAINER,
    Container,
    Desired,
    Inventory,
    Minion,
    Observed,
    ObservedContainer,
    ObservedMinion,
    Pod,
    PodSpec,
    PodTemplate,
    Port,
    ReplicationController,
    Source,
)
from kubeplay.planner.pods import Options, plan_pods
from kubeplay.planner.replicas import plan_replicas
from kubeplay.planner.scheduler import SCHEDULERS, MinionInfo, PlacedPod, Schedule
from kubeplay.pods.spechash import pod_hash

MI = 1024 * 1024
SOURCE = Source("bench")


def simulated_minions(count: int, rng: random.Random) -> list[MinionInfo]:
    minions = []
    for i in range(count):
        size = rng.choice((2, 4, 8))
        labels = {"zone": "abc"[i % 3]}
        if i % 3 == 0:
            labels["disk"] = "ssd"
        minions.append(
            MinionInfo(
                name=f"minion-{i:04d}",
                labels=labels,
                cpu=size * 1000,
                memory=size * 4096 * MI,
                cordoned=i % 97 == 0,
                reachable=i % 89 != 0,
            )
        )
    return minions


def controller_pods(controllers: int, pods: int, rng: random.Random) -> list[Pod]:
    per_controller = pods // controllers
    result = []
    for c in range(controllers):
        name = f"rc{c:03d}"
        ports = (Port(8000 + c, host_port=9000 + c // 2),) if c % 5 == 0 else ()
        selector: dict[str, str] = {}
        if c == controllers - 1:
            selector = {"disk": "ssd", "zone": "b"}  # no minion has both: every pod unschedulable
        elif c % 10 == 1:
            selector = {"disk": "ssd"}
        elif c % 10 == 2:
            selector = {"zone": "abc"[c % 3]}
        container = Container(
            name="app",
            image=f"example/app{c}",
            ports=ports,
            cpu=rng.choice((50, 100, 250)),
            memory=rng.choice((64, 128, 256)) * MI,
        )
        spec = PodSpec(containers=(container,), node_selector=selector)
        labels = {"app": name, "tier": f"t{c // 2}"}
        for r in range(per_controller):
            result.append(Pod(f"{name}-{r:05d}", labels, spec, SOURCE, controller=name))
    return result


def already_placed(minions: list[MinionInfo], count: int, rng: random.Random) -> list[PlacedPod]:
    up = [m for m in minions if m.reachable]
    return [
        PlacedPod(f"old-{i:05d}", rng.choice(up).name, {"app": "old"}, (), 100, 128 * MI, "old") for i in range(count)
    ]


def quality(schedule: Schedule, minions: list[MinionInfo], placed: list[PlacedPod]) -> str:
    usable = [m.name for m in minions if m.reachable and not m.cordoned]
    per_minion = Counter({name: 0 for name in usable})
    per_minion.update(schedule.placements.values())
    counts = list(per_minion.values())
    return (
        f"new pods per minion max {max(counts)} min {min(counts)} "
        f"stdev {statistics.pstdev(counts):.2f}, unschedulable {len(schedule.unschedulable)}"
    )


def controllers_of(pods: list[Pod]) -> list[ReplicationController]:
    """One controller per distinct controller name among ``pods``, with their template and count."""
    first: dict[str, Pod] = {}
    count: dict[str, int] = Counter(p.controller for p in pods)
    for p in pods:
        first.setdefault(p.controller, p)
    return [
        ReplicationController(name, {}, count[name], {"app": name}, PodTemplate(p.labels, p.spec), SOURCE)
        for name, p in first.items()
    ]


def observed_replicas(pods: list[Pod], schedule: Schedule, minions: list[MinionInfo], every: int) -> Observed:
    """Every ``every``-th scheduled pod observed running on its minion: what the next run sees."""
    by_minion: dict[str, list[ObservedContainer]] = {m.name: [] for m in minions}
    for p in pods[::every]:
        minion = schedule.placements.get(p.name)
        if minion is None:
            continue
        for role in (INFRA_CONTAINER, "app"):
            by_minion[minion].append(
                ObservedContainer(
                    f"{p.name}-{role}",
                    p.name,
                    p.name,
                    role,
                    pod_hash(p),
                    "x",
                    "running",
                    controller=p.controller,
                    pod_labels=p.labels,
                    created="2014-10-01T00:00:00Z",
                )
            )
    return Observed({m.name: ObservedMinion(m.name, m.reachable, containers=tuple(by_minion[m.name])) for m in minions})


def bench_replica_planning(pods: list[Pod], minions: list[MinionInfo], repeat: int) -> None:
    """plan_replicas for the same controllers, half their replicas observed: it names the missing half."""
    controllers = controllers_of(pods)
    observed = observed_replicas(pods, SCHEDULERS["default"](pods, minions, []), minions, every=2)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        plan = plan_replicas(controllers, [], observed)
        best = min(best, time.perf_counter() - start)
    print(
        f"plan_replicas: {len(controllers)} controllers, {len(observed.pods)} replicas observed: "
        f"{best:.3f} s ({len(plan.create)} to create, {len(plan.keep)} to keep)"
    )


def inventory_of(minions: list[MinionInfo]) -> Inventory:
    """The simulated minions as an inventory declares them (labels, capacity, cordoned)."""
    declared = tuple(
        Minion(m.name, m.name, labels=m.labels, cpu=m.cpu, memory=m.memory, cordoned=m.cordoned) for m in minions
    )
    return Inventory(minions=declared, groups={}, vars={}, source="bench")


def bench_planning(pods: list[Pod], minions: list[MinionInfo], repeat: int) -> None:
    """The whole pure plan (replicas, pods, scheduling, image pulls) for the same controllers, as ``apply`` runs it:
    on an empty cluster, and with every other replica already running."""
    desired = Desired(controllers=tuple(controllers_of(pods)))
    inventory = inventory_of(minions)
    empty = Observed({m.name: ObservedMinion(m.name, m.reachable) for m in minions})
    half = observed_replicas(pods, SCHEDULERS["default"](pods, minions, []), minions, every=2)
    options = Options(scheduler=SCHEDULERS["default"])
    for what, observed in (("empty cluster", empty), ("half the replicas running", half)):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            result = plan_pods(desired, observed, inventory, options)
            best = min(best, time.perf_counter() - start)
        created = sum(1 for a in result.actions if a.verb == "create")
        print(
            f"plan, {what}: {best:.3f} s, {created:,} pods to create ({created / best:,.0f}/s), "
            f"{len(result.actions):,} actions, {len(result.unschedulable)} unschedulable"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--controllers", type=int, default=100)
    parser.add_argument("--minions", type=int, default=1_000)
    parser.add_argument("--placed", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(2014)
    minions = simulated_minions(args.minions, rng)
    pods = controller_pods(args.controllers, args.pods, rng)
    placed = already_placed(minions, args.placed, rng)
    services = [{"tier": f"t{t}"} for t in range(args.controllers // 2)]
    print(
        f"{len(pods)} new pods from {args.controllers} controllers onto {len(minions)} minions "
        f"({len(placed)} pods already placed, {len(services)} spread selectors), best of {args.repeat}"
    )
    print(f"{'scheduler':<10} {'pods/s':>9} {'seconds':>8}  quality")
    for name, scheduler in SCHEDULERS.items():
        best = float("inf")
        schedule = Schedule({}, {})
        for _ in range(args.repeat):
            start = time.perf_counter()
            schedule = scheduler(pods, minions, placed, services)
            best = min(best, time.perf_counter() - start)
        print(f"{name:<10} {len(pods) / best:>9,.0f} {best:>8.3f}  {quality(schedule, minions, placed)}")
        reasons = Counter(schedule.unschedulable.values()).most_common(2)
        for reason, count in reasons:
            print(f"{'':<10} {count} unschedulable: {reason}")
    bench_replica_planning(pods, minions, args.repeat)
    bench_planning(pods, minions, args.repeat)


if __name__ == "__main__":
    main()
