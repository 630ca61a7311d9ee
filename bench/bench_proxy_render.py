"""Pure part of a proxy sync at scale: 5,000 services with 10 endpoints each. Prints figures, asserts nothing.

    python bench/bench_proxy_render.py [services] [endpoints]

Times ``render``, ``to_restore`` from nothing, ``parse_save`` of the same rules as iptables-save prints them and
the no-op check (``in_sync``) a second apply makes. Loading the text into a minion is the lab benchmark's part.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from kubeplay.model import Service, ServicePort, Source
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.endpoints import Endpoint

T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = work()
    print(f"{label:<36} {time.perf_counter() - start:8.3f} s")
    return result


def cluster(services: int, endpoints: int) -> tuple[list[Service], dict[str, str], dict[str, tuple[Endpoint, ...]]]:
    svcs = [
        Service(f"svc-{i}", {}, {"app": f"svc-{i}"}, (ServicePort(80, 8080),), Source("bench.yaml"))
        for i in range(services)
    ]
    portals = {s.name: f"10.0.{i // 250}.{i % 250 + 1}" for i, s in enumerate(svcs)}
    eps = {s.name: _endpoints(s.name, i, endpoints) for i, s in enumerate(svcs)}
    return svcs, portals, eps


def _endpoints(service: str, index: int, count: int) -> tuple[Endpoint, ...]:
    """One endpoint on each of ``count`` minions (pod subnets 172.21/16, 172.22/16, ...)."""
    ip = f"{index // 250}.{index % 250 + 2}"
    return tuple(Endpoint(f"{service}-{j}", f"172.{21 + j}.{ip}", 8080) for j in range(count))


def as_saved(ruleset: proxy.Ruleset) -> str:
    """The ruleset as iptables-save prints it after loading (rules are kept in that form)."""
    lines: list[str] = []
    for table in ruleset.tables:
        lines.append(f"*{table}")
        chains = ruleset.chains.get(table, {})
        lines += [f":{chain} - [0:0]" for chain in sorted(chains)]
        lines += [rule for rules in ruleset.jumps.get(table, {}).values() for rule in rules]
        lines += [rule for chain in sorted(chains) for rule in chains[chain]]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    endpoints = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    svcs, portals, eps = cluster(services, endpoints)
    print(f"{services} services x {endpoints} endpoints")
    desired = timed("render", lambda: proxy.render(svcs, portals, eps, local_pod_subnet="172.21.0.0/16"))
    text = timed("to_restore (from nothing)", lambda: proxy.to_restore(desired, proxy.Ruleset()))
    saved = as_saved(desired)
    observed = timed("parse_save (iptables-save output)", lambda: proxy.parse_save(saved))
    same = timed("in_sync (no-op check)", lambda: proxy.in_sync(observed, desired))
    rules = sum(len(r) for chains in desired.chains.values() for r in chains.values())
    chains = sum(len(c) for c in desired.chains.values())
    print(f"chains {chains}, rules {rules}, restore text {len(text):,} bytes ({text.count(chr(10)):,} lines)")
    print(f"in sync after parse: {same}; restore needed: {proxy.to_restore(desired, observed) != ''}")


if __name__ == "__main__":
    main()
