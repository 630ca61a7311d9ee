"""A converged no-op on a simulated cluster: 1,000 minions, 5,000 services, 20,000 pods (5,000 controllers of 4).

    python bench/bench_simulated.py [--minions 1000] [--services 5000] [--replicas 4] [--read-sample 3]
                                    [--baseline CHECKOUT [--rounds 1]]

The minions are fake connections (tests/unit/fakes.py) holding what a first apply made on them, so the run
observes recorded containers; each has its own pod subnet and address. Timed, as a no-op apply runs them:
load (manifests and inventory read and validated), observe (every minion's containers through the fakes), plan
(``reconcile.plan``: services, routes, pods; its ``plan_sync`` renders the shared rules, but no minion's, as no
network was read), and the proxy-rule render (``plan_sync`` over every minion) with its cost per minion. Issue 13,
target 5: load + plan + render <= 3 s, the rules of 5,000 services rendered once and shared.

What the simulated run leaves out: the minions' rules and routes are not read (observe runs with network=False;
the render is given each minion's routes as a converged minion holds them, and no rules), while a real no-op
reads each minion's iptables-save and ``ip route`` output, parses them, finds the portals, projects and kept
services in them and compares them with the desired ones. That is measured apart, on --read-sample minions given
the rules and routes they hold after a converged run (their iptables-save text through read_minion_network, as a
real read), and printed per minion and times the minions.

With --baseline (another checkout, e.g. /work/main) the same figures are measured there, in a child process of this
script run with that checkout's kubeplay, and their ratios printed. The child measured first after a pause read
0.4-1 s slower than the next one, whichever checkout it ran: so one uncounted child runs first, as a warm-up, and
the order of the two alternates from round to round (use an even number of --rounds). Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from kubeplay import reconcile
from kubeplay.connectors.base import ContainerConfig, DaemonFacts, MinionConnection

try:
    from kubeplay.dataclass import replace
except ImportError:  # (a --baseline checkout from before kubeplay.dataclass had it)
    from dataclasses import replace  # type: ignore[assignment]
from kubeplay.model import Minion
from kubeplay.planner.pods import Plan
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.plan import (
    MinionNetwork,
    MinionSync,
    ServicePlan,
    observed_portals,
    observed_projects,
    plan_sync,
    serving_pods,
)
from kubeplay.proxy.routes import Route, route_commands
from kubeplay.proxy.rules import Ruleset
from tests.unit.fakes import Answer, FakeConnection, FakeDocker, FakeIptables

try:  # (a checkout from before the shared chains were read once, as --baseline, reads every minion in full)
    from kubeplay.proxy.rules import split_save
    from kubeplay.proxy.sync import DIGEST_MARK, OWN_MARK, NetworkRead, network_of_fields, resolve
except ImportError:
    split_save = None  # type: ignore[assignment]

T = TypeVar("T")


def pod_subnet(index: int) -> str:
    return f"172.{16 + index // 256}.{index % 256}.0/24"


class SimulatedDocker(FakeDocker):
    """A fake daemon with its own pod subnet: containers get IPs in it. It keeps each container's config but for its
    environment (the services' variables, 35,000 for 5,000 services: 20,000 copies would not fit in memory), which
    observation does not read back."""

    subnet_prefix: str = ""

    def facts(self) -> DaemonFacts:
        return DaemonFacts(64, 256 << 30, self.subnet_prefix + "0/24", frozenset(self.images))

    def create(self, config: ContainerConfig) -> str:
        made = super().create(replace(config, env={}))
        held = self.held[made]
        if held.ip:
            held.ip = f"{self.subnet_prefix}{len(self.held) % 250 + 2}"
        return made


class SimulatedMinion(FakeConnection):
    def __init__(self, minion: Minion, index: int) -> None:
        docker = SimulatedDocker(minion=minion.name, images={"dockerfile/redis:latest"})
        docker.subnet_prefix = pod_subnet(index).removesuffix("0/24")
        super().__init__(minion.name, docker)
        self.minion = minion


def write_inputs(folder: Path, minions: int, services: int, replicas: int) -> tuple[list[str], str]:
    hosts = folder / "hosts"
    hosts.write_text(
        "[minions]\n" + "".join(f"m{i:04d} ansible_host=192.168.{i // 250}.{i % 250 + 1}\n" for i in range(minions))
    )
    items: list[dict[str, object]] = []
    for i in range(services):
        labels = {"app": f"svc{i}"}
        template = {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [{"name": "redis", "image": "dockerfile/redis", "ports": [{"containerPort": 6379}]}]
            },
        }
        items.append(
            {
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "metadata": {"name": f"svc{i}"},
                "spec": {"replicas": replicas, "selector": labels, "template": template},
            }
        )
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc{i}"},
                "spec": {"selector": labels, "ports": [{"port": 6379, "targetPort": 6379}]},
            }
        )
    manifest = folder / "cluster.json"
    manifest.write_text(json.dumps({"kind": "List", "items": items}))
    return [str(manifest)], str(hosts)


class QuietView:
    def progress(self, message: str) -> None:
        pass

    def planned(self, plan: Plan) -> None:
        pass

    def network_planned(self, syncs: object, *, check: bool) -> None:
        pass

    def confirm(self, plan: Plan, syncs: object) -> bool:
        return True


def timed(figures: dict[str, float], what: str, work: Callable[[], T]) -> T:
    """``work()``, its CPU seconds in ``figures[what]``. The collector first collects what the stages before left (not
    timed): a stage run with it paused leaves its collections to the next one, which would be charged for them."""
    gc.collect()
    began = time.process_time()
    value = work()
    figures[what] = time.process_time() - began
    return value


def simulate(minions: int, services: int, replicas: int, read_sample: int = 3) -> dict[str, float]:
    """CPU seconds of each stage of a converged no-op on the simulated cluster."""
    with tempfile.TemporaryDirectory() as tmp:
        files, hosts = write_inputs(Path(tmp), minions, services, replicas)
        inputs = reconcile.load(files, hosts, {}, None, "sim")
        fakes = {m.name: SimulatedMinion(m, i) for i, m in enumerate(inputs.inventory.minions)}

        def connect(minion: Minion) -> MinionConnection:
            return fakes[minion.name]

        options = reconcile.ApplyOptions(scheduler=get_scheduler("default"), forks=20)
        with reconcile.observe(inputs, connect, 20, network=False) as seen:  # the first apply makes the pods
            reconcile.apply(inputs, seen, options, QuietView())
        figures: dict[str, float] = {}
        inputs = timed(figures, "load", lambda: reconcile.load(files, hosts, {}, None, "sim"))
        with ExitStack() as stack:
            observing = reconcile.observe(inputs, connect, 20, network=False)
            seen = timed(figures, "observe", lambda: stack.enter_context(observing))
            run = timed(figures, "plan (with rules)", lambda: reconcile.plan(inputs, seen, options))
            serving = serving_pods(seen.observed.pods, ())
            minions_seen = seen.observed.minions
            held = {n: MinionNetwork(n, routes=copies(run.services.routes.get(n, ()))) for n in minions_seen}

            def render() -> tuple[MinionSync, ...]:
                return plan_sync(run.services, minions_seen, serving, held)

            syncs = timed(figures, "proxy rules", render)
            figures["proxy rules peak MB"] = peak_megabytes(render)
            figures.update(read_rules(run.services, syncs, read_sample))
        figures["pods"] = float(len(seen.observed.pods))
        figures["changes"] = float(len(run.pods.actions))
        figures["rules per minion"] = float(sum(len(r) for c in syncs[0].desired.chains.values() for r in c.values()))
        figures["own rules per minion"] = float(own_rules(syncs[0].desired, syncs[-1].desired))
        figures["target total"] = figures["load"] + figures["plan (with rules)"] + figures["proxy rules"]
        figures["read total"] = sum(v for k, v in figures.items() if k.startswith("read: "))
        figures["max RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return figures


def copies(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """Routes equal to ``routes``, none the same object (as a minion's, read from its ``ip route`` output)."""
    return tuple(Route(r.destination, r.via, r.proto) for r in routes)


def read_rules(plan: ServicePlan, syncs: tuple[MinionSync, ...], sample: int) -> dict[str, float]:
    """CPU seconds per minion (over every minion, the one-off work shared out) of what a real no-op does with the
    minions' rules and routes that the simulated one does not, as a run does it: each minion's one program's output
    read (the first minion's rules in full, every other one's own lines and the digest of the shared chains' lines,
    as SPLIT_SAVE prints them, and its ``ip route`` output), the shared part parsed once and matched by digest
    (``resolve``), the portals, projects and kept services found (as plan_sync finds the kept ones: once per shared
    part), the rules and routes compared with the desired ones. Each minion holds exactly its desired rules and
    routes, as after a converged apply; on ``sample`` minions spread over the cluster the digest output is made
    from their whole iptables-save text (``split_save``, as the awk does) and checked to be what the others' is
    made from (their own rules alone)."""
    if split_save is None:
        return read_rules_in_full(plan, syncs, sample)
    chosen = {syncs[i * (len(syncs) - 1) // max(sample - 1, 1)].minion for i in range(sample)} if sample else set()
    digests: dict[int, str] = {}
    outputs = {
        s.minion: program_fields(s, plan.routes.get(s.minion, ()), digests, full=index == 0, check=s.minion in chosen)
        for index, s in enumerate(syncs)
    }
    cpu = {"read and parse": 0.0, "portals, projects, kept": 0.0, "compare": 0.0}
    gc.collect()  # (as ``timed``)
    began = time.process_time()
    reads = {name: network_of_fields(name, fields) for name, fields in outputs.items()}
    networks = resolve(reads, no_second_read, 1)
    cpu["read and parse"] += time.process_time() - began
    assert all(not n.error for n in networks.values()) and len(networks) == len(syncs)
    began = time.process_time()
    kept: dict[int, object] = {}
    for network in networks.values():  # (plan_sync: once per shared part)
        part = network.rules.shared or network.rules
        if id(part) not in kept:
            kept[id(part)] = proxy.kept_services(part, plan.keeps)
    observed_portals(networks), observed_projects(networks)
    cpu["portals, projects, kept"] += time.process_time() - began
    began = time.process_time()
    for sync in syncs:
        read, routes = networks[sync.minion], plan.routes.get(sync.minion, ())
        in_sync, commands = proxy.in_sync(read.rules, sync.desired), route_commands(read.routes, routes)
        assert in_sync and not commands, f"{sync.minion}: a converged minion is not in sync"
    cpu["compare"] += time.process_time() - began
    return {f"read: {what}": seconds / max(len(syncs), 1) for what, seconds in cpu.items()} | {
        "read sample": float(len(syncs))
    }


def read_rules_in_full(plan: ServicePlan, syncs: tuple[MinionSync, ...], sample: int) -> dict[str, float]:
    """``read_rules`` as a checkout from before does it: each of ``sample`` minions spread over the cluster read in
    full (read_minion_network), parsed, scanned and compared on its own; per minion."""
    from kubeplay.proxy.sync import read_minion_network

    chosen = [syncs[i * (len(syncs) - 1) // max(sample - 1, 1)] for i in range(sample)] if syncs and sample else []
    cpu = {"read and parse": 0.0, "portals, projects, kept": 0.0, "compare": 0.0}
    gc.collect()  # (as ``timed``)
    for sync in chosen:
        routes = plan.routes.get(sync.minion, ())
        conn = FakeConnection(sync.minion, iptables=FakeIptables(iptables_tables(sync.desired)))
        conn.answers = [
            Answer(stdout="".join(f"{r.destination} via {r.via} dev eth0 proto {r.proto}\n" for r in routes))
        ]
        began = time.process_time()
        read = read_minion_network(conn)
        cpu["read and parse"] += time.process_time() - began
        assert not read.error, read.error
        began = time.process_time()
        (
            proxy.observed_portals(read.rules),
            proxy.observed_projects(read.rules),
            proxy.kept_services(read.rules, plan.keeps),
        )
        cpu["portals, projects, kept"] += time.process_time() - began
        began = time.process_time()
        in_sync, commands = proxy.in_sync(read.rules, sync.desired), route_commands(read.routes, routes)
        cpu["compare"] += time.process_time() - began
        assert in_sync and not commands, f"{sync.minion}: a converged minion is not in sync"
    return {f"read: {what}": seconds / max(len(chosen), 1) for what, seconds in cpu.items()} | {
        "read sample": float(len(chosen))
    }


def program_fields(
    sync: MinionSync, routes: tuple[Route, ...], digests: dict[int, str], *, full: bool, check: bool
) -> list[bytes]:
    """The fields a minion's one program writes (READ_NETWORK_STEP when ``full``, else READ_NETWORK_DIGESTED_STEP)
    holding ``sync``'s desired rules and ``routes``. The digested output is made from the minion's own rules and the
    digest of its shared part's lines (in ``digests``, by the part's id, made once: the whole iptables-save text,
    5 MB, a thousand times, would take minutes), and with ``check`` also from its whole text: both must be alike."""
    text = "".join(f"{r.destination} via {r.via} dev eth0 proto {r.proto}\n" for r in routes).encode()
    if full:
        return [save(sync.desired), b"0", text, b"0", b""]
    own, shared = save(proxy.own_part(sync.desired)), sync.desired.shared
    assert shared is not None
    if id(shared) not in digests:
        digests[id(shared)] = hashlib.sha256(split_save(save(shared))[1]).hexdigest()
    digest = digests[id(shared)]
    if check:
        whole = split_save(save(sync.desired))
        assert whole[0] == own and hashlib.sha256(whole[1]).hexdigest() == digest, sync.minion
    digested = b"%s\n%s%s%s  -\n" % (OWN_MARK.encode(), own, DIGEST_MARK.encode(), digest.encode())
    return [digested, b"0", text, b"0", b""]


def save(ruleset: Ruleset) -> bytes:
    """What iptables-save prints of a minion holding ``ruleset``."""
    return FakeIptables(iptables_tables(ruleset)).save().encode()


def no_second_read(minion: str) -> NetworkRead:
    raise AssertionError(f"{minion}: read again, its shared chains are not the first minion's")


def iptables_tables(ruleset: Ruleset) -> dict[str, dict[str, list[str]]]:
    """A minion's tables holding ``ruleset``: the built-in chains with its jumps, then its own chains."""
    return {
        table: {
            **{chain: list(rules) for chain, rules in ruleset.jumps.get(table, {}).items()},
            **{chain: list(rules) for chain, rules in ruleset.chains.get(table, {}).items()},
        }
        for table in ruleset.tables
    }


def peak_megabytes(work: Callable[[], object]) -> float:
    """The most memory Python held (tracemalloc) while ``work`` ran and its result was alive, in MB."""
    tracemalloc.start()
    try:
        kept = work()
        peak = tracemalloc.get_traced_memory()[1]
        del kept
    finally:
        tracemalloc.stop()
    return peak / 1e6


def own_rules(one: Ruleset, other: Ruleset) -> int:
    """Rules in ``one``'s chains that are not the very same tuple in ``other``'s (not shared by both)."""
    return sum(
        len(rules)
        for table, chains in one.chains.items()
        for chain, rules in chains.items()
        if other.chains.get(table, {}).get(chain) is not rules
    )


def report(label: str, figures: dict[str, float], minions: int) -> None:
    for what in ("load", "observe", "plan (with rules)", "proxy rules"):
        print(f"  {label:<9} {what:<18} {figures[what]:7.2f} s CPU")
    total = figures["load"] + figures["plan (with rules)"]
    print(f"  {label:<9} {'load + plan':<18} {total:7.2f} s CPU")
    total += figures["proxy rules"]
    print(f"  {label:<9} {'... + proxy rules':<18} {total:7.2f} s CPU   (target <= 3 s)")
    per = figures["proxy rules"] / minions * 1000
    own = figures.get("own rules per minion", figures["rules per minion"])
    print(
        f"  {label:<9} proxy rules per minion {per:.2f} ms  ({figures['rules per minion']:.0f} rules each,"
        f" {own:.0f} of them its own)"
    )
    if "max RSS MB" in figures:  # (not measured by older checkouts)
        print(
            f"  {label:<9} peak memory: proxy rules {figures['proxy rules peak MB']:.0f} MB (tracemalloc),"
            f" process {figures['max RSS MB']:.0f} MB (ru_maxrss, with the first apply that set the minions up)"
        )
    print(f"  {label:<9} pods observed {figures['pods']:.0f}, actions planned {figures['changes']:.0f} (a no-op: 0)")
    if figures.get("read sample"):  # (not measured by older checkouts)
        reads = {k.removeprefix("read: "): v for k, v in figures.items() if k.startswith("read: ")}
        each = sum(reads.values())
        print(
            f"  {label:<9} NOT simulated above, a real no-op's rules and routes per minion"
            f" ({figures['read sample']:.0f} sampled): {each * 1000:.1f} ms = {each * minions:.2f} s CPU for {minions}"
            " minions"
        )
        print(f"  {label:<9}   " + ", ".join(f"{what} {seconds * 1000:.1f} ms" for what, seconds in reads.items()))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minions", type=int, default=1000)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--read-sample", type=int, default=3, help="minions whose rules and routes are read")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, measured in turn with this one")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: rounds of both, medians compared")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for a --baseline child)")
    args = parser.parse_args()
    sizes = (args.minions, args.services, args.replicas, args.read_sample)
    if args.json:
        print(json.dumps(simulate(*sizes)))
        return 0
    print(f"simulated no-op: {args.minions} minions, {args.services} services, {args.services * args.replicas} pods")
    if not args.baseline:
        report("this", simulate(*sizes), args.minions)
        return 0
    sizes_argv = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k in SIZES]
    roots = {"this": Path(__file__).resolve().parents[1], "baseline": args.baseline.resolve()}
    runs: dict[str, list[dict[str, float]]] = {"this": [], "baseline": []}
    order = ["this", "baseline"]
    if child_figures(roots["this"], sizes_argv) is None:  # a warm-up, not counted (see --baseline above)
        return 1
    for _ in range(args.rounds):  # each in a child of its own, in turn; who goes first alternates
        for label in order:
            figures = child_figures(roots[label], sizes_argv)
            if figures is None:
                return 1
            runs[label].append(figures)
        order.reverse()
    medians = {label: median_figures(figures) for label, figures in runs.items()}
    for label, figures in medians.items():
        report(label, figures, args.minions)
    now, before = medians["this"], medians["baseline"]
    print(f"  speed-up, baseline/this, medians of {args.rounds} round(s):")
    for what in ("load", "plan (with rules)", "proxy rules", "target total", "read total"):
        if before.get(what) and now.get(what):
            print(f"    {what:<18} {before[what] / now[what]:.2f}x  ({before[what]:.2f} -> {now[what]:.2f} s CPU)")
    return 0


def child_figures(root: Path, sizes_argv: list[str]) -> dict[str, float] | None:
    """The figures of one simulated run with the kubeplay of checkout ``root``, in a child process of its own."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    argv = [sys.executable, __file__, "--json", *sizes_argv]
    child = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        print(f"  {root} failed: {child.stderr[-1500:]}")
        return None
    figures: dict[str, float] = json.loads(child.stdout)
    return figures


def median_figures(runs: list[dict[str, float]]) -> dict[str, float]:
    return {what: statistics.median(run[what] for run in runs if what in run) for what in runs[0]}


SIZES = ("minions", "services", "replicas", "read_sample")

if __name__ == "__main__":
    sys.exit(main())
