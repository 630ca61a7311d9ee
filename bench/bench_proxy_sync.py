"""A proxy sync at scale on one real lab minion: 5,000 services with 10 endpoints each. Prints figures, asserts nothing.

Run as root with a lab up: python bench/bench_proxy_sync.py [--lab lab] [--minion 1] [--services 5000]
[--endpoints 10] [--runs 1] [--sample-empty 2000] [--sample-full 200]

Over kubeplay's own SSH connection to the minion, as `kubeplay apply` does it:

- full sync: iptables-save, parse, render, diff, and the ONE ``iptables-restore --noflush`` that loads everything
  (sent as ``kubeplay apply`` sends it: gzipped when large, see ``kubeplay.proxy.sync.restore``);
- no-op sync: the same read, parse, render and compare a second apply makes, which must write nothing;
- the same rules written one ``iptables -A`` at a time, as a tool without restore would: sampled in a
  ``KUBEPLAY-BENCH`` chain (jump targets replaced by RETURN) on the table as it is before the load and again once
  the full ruleset is in, then extrapolated. Per-rule cost grows with the table's size (legacy iptables copies the
  whole table in and out of the kernel each time), so the estimate takes the mean of the two samples' rates.

Every kubeplay chain on the minion is removed before and after: use a lab minion, not a real cluster.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from bench_proxy_render import cluster

from kubeplay.connectors.ssh import SSHConnection, SSHOptions
from kubeplay.inventory.load import load_inventory
from kubeplay.lab import cluster as lab_cluster
from kubeplay.proxy import rules as proxy
from kubeplay.proxy import sync as network_sync

T = TypeVar("T")
SCRATCH = "KUBEPLAY-BENCH"
_TARGET = re.compile(r" -j KUBEPLAY-\S+$")


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.3f} s")
    return result, seconds


def run(conn: SSHConnection, *argv: str, stdin: bytes | None = None) -> str:
    result = conn.run(argv, stdin=stdin, timeout=1800)
    if not result.ok:
        raise SystemExit(f"{' '.join(argv)}: exit {result.exit_code}: {result.stderr.strip()}")
    return result.stdout


def observed(conn: SSHConnection) -> proxy.Ruleset:
    return proxy.parse_save(run(conn, "iptables-save"))


def read_and_render(conn: SSHConnection, render: Callable[[], proxy.Ruleset]) -> tuple[proxy.Ruleset, proxy.Ruleset]:
    """What every sync does before comparing: the minion's rules read and parsed, the desired ones rendered."""
    saved, _ = timed("iptables-save over SSH", lambda: run(conn, "iptables-save"))
    observed_rules, _ = timed("parse_save", lambda: proxy.parse_save(saved))
    desired, _ = timed("render", render)
    return observed_rules, desired


def remove_kubeplay_chains(conn: SSHConnection) -> None:
    restore = proxy.to_restore(proxy.Ruleset(), observed(conn))
    if restore:
        run(conn, "iptables-restore", "--noflush", "--wait=10", stdin=restore.encode())


def per_rule(conn: SSHConnection, rules: list[str], label: str) -> float:
    """Seconds per rule appending these rules one `iptables -A` at a time (one process each, as a script)."""
    run(conn, "iptables", "-w", "-t", "nat", "-N", SCRATCH)
    lines = []
    for rule in rules:
        spec = _TARGET.sub(" -j RETURN", rule.split(maxsplit=2)[2])
        lines.append(f"iptables -w -t nat -A {SCRATCH} {spec}")
    script = "set -e\n" + "\n".join(lines) + "\n"
    _, seconds = timed(f"{label}: {len(rules):,} x iptables -A", lambda: run(conn, "sh", "-s", stdin=script.encode()))
    remove_kubeplay_chains(conn)
    return seconds / max(1, len(rules))


def full_sync(conn: SSHConnection, render: Callable[[], proxy.Ruleset]) -> tuple[float, float, int]:
    """A sync from nothing: seconds in all, of which the restore, and the restore text's size in bytes."""
    start = time.perf_counter()
    before, desired = read_and_render(conn, render)
    text, _ = timed("to_restore", lambda: proxy.to_restore(desired, before))
    _, restore = timed(f"iptables-restore of {len(text) / 1e6:.1f} MB", lambda: network_sync.restore(conn, text))
    full = time.perf_counter() - start
    print(f"  {'= full sync':<44} {full:8.3f} s")
    return full, restore, len(text.encode())


def noop_sync(conn: SSHConnection, render: Callable[[], proxy.Ruleset]) -> tuple[float, bool]:
    """The second apply's read, parse, render and compare: seconds, and whether nothing is to be written."""
    start = time.perf_counter()
    after, desired = read_and_render(conn, render)
    same, _ = timed("in_sync", lambda: proxy.in_sync(after, desired))
    noop = time.perf_counter() - start
    print(
        f"  {'= no-op sync':<44} {noop:8.3f} s   in sync: {same}, restore text: "
        f"{len(proxy.to_restore(desired, after))} bytes (nothing written)"
    )
    return noop, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab")
    parser.add_argument("--minion", type=int, default=1, help="1-based minion index (default 1)")
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1, help="full and no-op syncs, each from nothing (default 1)")
    parser.add_argument(
        "--sample-empty",
        type=int,
        default=2000,
        help="rules appended one by one before the load (0: skip the one-at-a-time estimate)",
    )
    parser.add_argument("--sample-full", type=int, default=200, help="rules appended one by one after the load")
    args = parser.parse_args()

    found = lab_cluster.current(args.lab)
    if found is None:
        raise SystemExit(f"no lab named {args.lab!r}: kubeplay lab up --name {args.lab}")
    lab, record = found
    minion = load_inventory(record.inventory).minions[args.minion - 1]
    conn = SSHConnection(minion, SSHOptions(known_hosts=(str(lab.known_hosts),)))
    try:
        print(f"minion {minion.name} ({minion.host}), iptables: {run(conn, 'iptables', '--version').strip()}")
        remove_kubeplay_chains(conn)
        svcs, portals, eps = cluster(args.services, args.endpoints)

        def render() -> proxy.Ruleset:
            return proxy.render(svcs, portals, eps, local_pod_subnet="172.21.0.0/16")

        desired = render()
        all_rules = [r for chains in desired.chains.values() for rs in chains.values() for r in rs]
        nat_rules = [r for rs in desired.chains.get("nat", {}).values() for r in rs]
        chains = sum(len(c) for c in desired.chains.values())
        print(f"{args.services:,} services x {args.endpoints} endpoints: {len(all_rules):,} rules in {chains:,} chains")

        estimate = empty_rate = 0.0
        if args.sample_empty:
            print("one iptables -A per rule (sampled):")
            empty_rate = per_rule(conn, nat_rules[: args.sample_empty], "before the load")

        fulls: list[float] = []
        restores: list[float] = []
        noops: list[float] = []
        size, same = 0, True
        for number in range(1, args.runs + 1):
            if number > 1:
                remove_kubeplay_chains(conn)
            print(f"full sync (one iptables-restore --noflush), run {number}:")
            full, restore, size = full_sync(conn, render)
            fulls.append(full)
            restores.append(restore)
            print(f"no-op sync (second apply), run {number}:")
            noop, in_sync = noop_sync(conn, render)
            noops.append(noop)
            same = same and in_sync

        if args.sample_empty:
            print("one iptables -A per rule, on the full table (sampled):")
            full_rate = per_rule(conn, nat_rules[: args.sample_full], "after the load")
            estimate = len(all_rules) * (empty_rate + full_rate) / 2
            print(
                f"  per rule: {empty_rate * 1000:.2f} ms before the load, {full_rate * 1000:.2f} ms on the full table"
            )
            print(
                f"  = {len(all_rules):,} rules one at a time, extrapolated: {estimate:,.0f} s "
                f"({estimate / 60:.0f} min), {estimate / min(fulls):,.0f}x the single restore"
            )

        _, teardown = timed("removing every kubeplay chain (one restore)", lambda: remove_kubeplay_chains(conn))
        print(
            f"\nsummary over {args.runs} run(s), min / median / max:\n"
            f"  full sync  {spread(fulls)} (of which iptables-restore {spread(restores)}), "
            f"restore text {size / 1e6:.1f} MB\n"
            f"  no-op sync {spread(noops)} (wrote nothing: {same})\n"
            f"  {len(all_rules):,} rules; one at a time ~{estimate:,.0f} s; teardown {teardown:.2f} s"
        )
    finally:
        conn.close()


def spread(seconds: list[float]) -> str:
    return f"{min(seconds):.2f} / {statistics.median(seconds):.2f} / {max(seconds):.2f} s"


if __name__ == "__main__":
    main()
