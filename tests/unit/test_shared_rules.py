"""The chains every minion shares, read once: each minion's program splits its iptables-save output (the awk of
SPLIT_SAVE, as ``split_save`` does), prints its own lines and the digest of the shared ones; the first acted-on
minion prints everything. A minion whose digest matches no full read is read again in full. The rules compared,
shown and written stay exactly those a full read of each minion gives."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.model import Desired, Inventory, Minion, Observed, ObservedMinion, Service, ServicePort, Source
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.plan import MinionNetwork, ServicePlan, plan_services, plan_sync
from kubeplay.proxy.sync import (
    DIGEST_MARK,
    OWN_MARK,
    READ_NETWORK,
    READ_NETWORK_DIGESTED,
    READ_NETWORK_DIGESTED_STEP,
    READ_NETWORK_STEP,
    NetworkRead,
    network_read,
    resolve,
)
from tests.unit.fakes import FakeIptables
from tests.unit.test_services import pod

MINIONS = [ObservedMinion(f"m{n}", True, bridge_subnet=f"172.2{n}.0.0/16", address=f"10.99.0.1{n}") for n in (1, 2, 3)]
WEB = Service("web", {}, {"app": "web"}, (ServicePort(80, "http"),), Source("web.yaml"))
EMPTY = Service("empty", {}, {"app": "none"}, (ServicePort(81, "http"),), Source("empty.yaml"))
PODS = [pod("web-1", "m1", "172.21.0.2", {"app": "web"}), pod("web-2", "m2", "172.22.0.2", {"app": "web"})]


def service_plan() -> ServicePlan:
    observed = Observed({m.name: m for m in MINIONS})
    inventory = Inventory((), {}, {}, "inv.ini", portal_net="10.0.0.0/16", pod_network=True)
    return plan_services([WEB, EMPTY], observed, {}, inventory)


def converged() -> tuple[ServicePlan, dict[str, FakeIptables]]:
    """Three minions holding the rules a first apply wrote (on top of a rule of Docker's)."""
    plan = service_plan()
    empty = {m.name: MinionNetwork(m.name) for m in MINIONS}
    tables = {}
    for sync in plan_sync(plan, {m.name: m for m in MINIONS}, PODS, empty):
        iptables = FakeIptables({"nat": {"PREROUTING": [], "DOCKER": ["-A DOCKER -i docker0 -j RETURN"]}})
        iptables.restore(sync.restore)
        tables[sync.minion] = iptables
    return plan, tables


def digested(saved: bytes) -> bytes:
    """What SPLIT_SAVE prints of ``saved`` (as the awk does; checked against the real one below)."""
    own, shared = proxy.split_save(saved)
    return b"%s\n%s%s%s  -\n" % (
        OWN_MARK.encode(),
        own,
        DIGEST_MARK.encode(),
        hashlib.sha256(shared).hexdigest().encode(),
    )


def reads(tables: dict[str, FakeIptables], full: str = "m1") -> dict[str, NetworkRead]:
    """Each minion's read as its one program prints it: ``full`` in full, the others digested."""
    found = {}
    for name, iptables in tables.items():
        saved = iptables.save().encode()
        found[name] = network_read(name, saved if name == full else digested(saved), "")
    return found


def full_reads(tables: dict[str, FakeIptables]) -> dict[str, MinionNetwork]:
    return {n: MinionNetwork(n, proxy.parse_save(t.save())) for n, t in tables.items()}


class ReadAgain:
    """``read_again`` of ``resolve``: reads a minion in full, and records whom."""

    def __init__(self, tables: dict[str, FakeIptables]) -> None:
        self.tables = tables
        self.asked: list[str] = []

    def __call__(self, minion: str) -> NetworkRead:
        self.asked.append(minion)
        return network_read(minion, self.tables[minion].save().encode(), "")


def test_split_save_keeps_each_line_once_and_both_parts_parse_as_the_whole() -> None:
    _, tables = converged()
    saved = tables["m1"].save().encode()
    own, shared = proxy.split_save(saved)
    shared_lines = [line for line in shared.decode().splitlines() if not line.startswith("*")]
    assert sorted([*own.decode().splitlines(), *shared_lines]) == sorted(saved.decode().splitlines())
    assert shared_lines and all(line.startswith(proxy.SHARED_LINES) for line in shared_lines)
    assert "KUBEPLAY-POSTROUTING" in own.decode() and "-A DOCKER" in own.decode()
    whole = proxy.with_shared(proxy.parse_save(own.decode()), proxy.parse_shared(shared.decode()))
    assert whole == proxy.parse_save(saved.decode())


def fake_program(directory: Path, name: str, text: str) -> None:
    program = directory / name
    program.write_text(text)
    program.chmod(0o755)


def run_digested(tmp_path: Path, saved: str, path: str) -> bytes:
    """READ_NETWORK_DIGESTED run by the local sh, with an iptables-save printing ``saved`` first on ``path``."""
    fake_program(tmp_path, "iptables-save", f"#!/bin/sh\nprintf '%s' {shlex.quote(saved)}\n")
    fake_program(tmp_path, "ip", "#!/bin/sh\necho '10.1.0.0/16 via 10.0.0.2 dev eth0 proto 107'\n")
    program = ["/bin/sh", *READ_NETWORK_DIGESTED[1:]]  # (sh found whatever the PATH)
    done = subprocess.run(program, capture_output=True, env={**os.environ, "PATH": path}, check=True)
    saved_out, code, routes, routes_code = done.stdout.split(b"\0")
    assert (code, routes, routes_code) == (b"0", b"10.1.0.0/16 via 10.0.0.2 dev eth0 proto 107\n", b"0")
    return saved_out


AWKS = [name for name in ("mawk", "gawk", "original-awk", "busybox") if shutil.which(name)]


@pytest.mark.parametrize("awk", AWKS)
def test_the_minions_awk_splits_and_digests_as_split_save(tmp_path: Path, awk: str) -> None:
    _, tables = converged()
    saved = tables["m2"].save()
    tools = tmp_path / "tools"
    tools.mkdir()
    fake_program(tools, "awk", f'#!/bin/sh\nexec {awk}{" awk" if awk == "busybox" else ""} "$@"\n')
    printed = run_digested(tmp_path, saved, f"{tools}:{tmp_path}:{os.environ['PATH']}")
    assert printed == digested(saved.encode())
    assert network_read("m2", printed, "").digest == network_read("m2", saved.encode(), "").digest


def test_without_awk_or_sha256sum_the_minion_prints_its_rules_in_full(tmp_path: Path) -> None:
    _, tables = converged()
    saved = tables["m2"].save()
    assert run_digested(tmp_path, saved, str(tmp_path)) == saved.encode()  # (only the fake programs on PATH)


def test_a_failed_iptables_save_is_told_as_without_the_digest(tmp_path: Path) -> None:
    fake_program(tmp_path, "iptables-save", "#!/bin/sh\necho '*nat'\necho not allowed >&2\nexit 4\n")
    fake_program(tmp_path, "ip", "#!/bin/sh\n")
    for program in (READ_NETWORK, READ_NETWORK_DIGESTED):
        env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
        done = subprocess.run(program, capture_output=True, env=env, check=True)
        assert done.stdout.split(b"\0")[1:] == [b"4", b"", b"0"] and b"not allowed" in done.stderr


def test_minions_with_the_same_shared_chains_reference_one_parse_and_are_in_sync() -> None:
    plan, tables = converged()
    again = ReadAgain(tables)
    networks = resolve(reads(tables), again, 2)
    assert again.asked == [] and list(networks) == ["m1", "m2", "m3"]
    shared = {id(n.rules.shared) for n in networks.values()}
    assert len(shared) == 1 and all(n.rules.shared is not None for n in networks.values())
    assert networks == full_reads(tables)  # the same rules as read in full, each
    syncs = plan_sync(plan, {m.name: m for m in MINIONS}, PODS, networks)
    assert [(s.minion, s.rules_in_sync, s.rule_diff(), s.restore) for s in syncs] == [
        (m, True, [], "") for m in ("m1", "m2", "m3")
    ]


def hand_edit(iptables: FakeIptables) -> str:
    """Delete the first rule of one endpoint chain (as `iptables -t nat -D` would); returns it."""
    chain = next(c for c in iptables.tables["nat"] if c.startswith("KUBEPLAY-SEP-"))
    return iptables.tables["nat"][chain].pop(0)


def test_a_minion_whose_shared_chains_differ_is_read_again_and_repaired_alone() -> None:
    plan, tables = converged()
    before = tables["m2"].save()
    removed = hand_edit(tables["m2"])
    again = ReadAgain(tables)
    networks = resolve(reads(tables), again, 2)
    assert again.asked == ["m2"]
    assert networks == full_reads(tables)
    syncs = {s.minion: s for s in plan_sync(plan, {m.name: m for m in MINIONS}, PODS, networks)}
    assert [m for m, s in syncs.items() if not s.rules_in_sync] == ["m2"]
    assert f"+{removed}" in syncs["m2"].rule_diff()
    tables["m2"].restore(syncs["m2"].restore)
    assert sorted(tables["m2"].save().splitlines()) == sorted(before.splitlines())


def test_without_a_full_read_one_minion_per_digest_is_read_again() -> None:
    _, tables = converged()
    hand_edit(tables["m3"])
    found = reads(tables, full="")
    found["m1"] = NetworkRead("m1", error="iptables-save: exit 1: gone")  # (the first minion failed)
    again = ReadAgain(tables)
    networks = resolve(found, again, 2)
    assert sorted(again.asked) == ["m2", "m3"]  # m2 for its digest, m3 for its own
    assert networks["m1"].error == "iptables-save: exit 1: gone"
    assert {n: networks[n] for n in ("m2", "m3")} == {n: full_reads(tables)[n] for n in ("m2", "m3")}


@pytest.mark.parametrize("cut", [20, 60, 90])
def test_digested_output_cut_short_is_read_again(cut: int) -> None:
    _, tables = converged()
    found = reads(tables)
    printed = digested(tables["m2"].save().encode())
    found["m2"] = network_read("m2", printed[: len(printed) - cut], "")
    again = ReadAgain(tables)
    assert resolve(found, again, 2) == full_reads(tables) and again.asked == ["m2"]


def test_shared_chains_compare_by_fingerprint_and_name() -> None:
    one = proxy.SharedChains({"KUBEPLAY-SVC-A": ("-A KUBEPLAY-SVC-A -j X",), "KUBEPLAY-SEP-B": ()})
    same = proxy.SharedChains({"KUBEPLAY-SEP-B": (), "KUBEPLAY-SVC-A": ("-A KUBEPLAY-SVC-A -j X",)})
    other = proxy.SharedChains({"KUBEPLAY-SVC-A": ("-A KUBEPLAY-SVC-A -j Y",), "KUBEPLAY-SEP-B": ()})
    fewer = proxy.SharedChains({"KUBEPLAY-SVC-A": ("-A KUBEPLAY-SVC-A -j X",)})
    own = {"KUBEPLAY-POSTROUTING": ("-A KUBEPLAY-POSTROUTING -j MASQUERADE",)}
    assert one == same and one != other and one == dict(same)
    assert proxy.ChainsOver(own, one) == proxy.ChainsOver(dict(own), same)
    assert proxy.ChainsOver(own, one) != proxy.ChainsOver({}, same)
    assert proxy.ChainsOver(own, one) != proxy.ChainsOver(own, other)
    moved = proxy.ChainsOver({**own, "KUBEPLAY-SEP-B": ()}, fewer)  # the same chains, parted otherwise
    assert proxy.ChainsOver(own, one) == moved and moved == proxy.ChainsOver(own, one)


class Dialled:
    """A connection read through a program of the minion (its Docker too): all first_steps looks at."""

    def __init__(self, name: str) -> None:
        self.minion = Minion(name, "10.0.0.1")

    def docker_dial(self) -> tuple[str, ...]:
        return ("docker", "system", "dial-stdio")


@pytest.mark.parametrize(("limit", "reader"), [(None, "a1"), (frozenset({"b2", "c3"}), "b2")])
def test_the_first_acted_on_minion_reads_in_full_the_others_a_digest(limit: frozenset[str] | None, reader: str) -> None:
    minions = tuple(Minion(name, "10.0.0.1") for name in ("c3", "a1", "b2"))
    inputs = reconcile.Inputs(Desired(), Inventory(minions, {}, {}, "inv.ini"), limit)
    assert reconcile.rules_reader(inputs) == reader
    steps: Sequence[str] = [
        reconcile.first_steps(True, Dialled(m.name), reader).first  # type: ignore[arg-type]
        for m in minions
    ]
    assert [s == READ_NETWORK_STEP for s in steps] == [m.name == reader for m in minions]
    assert {s for s in steps if s != READ_NETWORK_STEP} == {READ_NETWORK_DIGESTED_STEP}
