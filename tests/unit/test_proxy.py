"""The iptables proxy: rendering, and parsing real iptables-save output recorded in a scratch network namespace.

The fixtures under data/iptables were made with iptables 1.8.9 (nf_tables and legacy) in a fresh namespace holding
a few Docker-like and user rules: ``to_restore(scenario(1), parse_save(foreign))`` was loaded with
``iptables-restore --noflush`` and saved (``*-step1.save``), then ``scenario(2)`` on top (``*-step2.save``, the
restore text that was loaded is ``nft-step1-to-step2.restore``), then a kubeplay jump deleted by hand and a user
rule inserted (``nft-step2-missing-jump-counters.save``, saved with ``-c``), then everything removed with
``to_restore(Ruleset(), ...)`` (``nft-after-teardown.save``). ``legacy-step2-user-jump.save`` has a user's own
jump to a kubeplay chain added. ``data/iptables/record.py`` records them all again (as root) whenever the rendered
rules change.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from kubeplay.model import ObservedMinion, Service, ServicePort, Source
from kubeplay.proxy import routes as network
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.endpoints import Endpoint
from kubeplay.proxy.rules import Ruleset

DATA = Path(__file__).parent / "data" / "iptables"


def service(name: str, ports: list[ServicePort], **kwargs: object) -> Service:
    return Service(
        name=name,
        labels={},
        selector={"app": name},
        ports=tuple(ports),
        source=Source(f"{name}.yaml"),
        **kwargs,  # type: ignore[arg-type]
    )


def scenario(step: int) -> Ruleset:
    """The desired rules the fixtures were recorded from (step 2: pods died, a port and a minion went away)."""
    services = [
        service("redis", [ServicePort(6379, 6379)], session_affinity="ClientIP"),
        service(
            "web",
            [ServicePort(80, "http", name="http"), ServicePort(443, 8443, name="https")],
            public_ips=("10.99.0.11",),
        ),
        service("dns", [ServicePort(53, 53, protocol="UDP")]),
        service("empty", [ServicePort(8080, 8080)], public_ips=("192.0.2.7",)),
    ]
    portals = {"redis": "10.0.0.11", "web": "10.0.0.12", "dns": "10.0.0.10", "empty": "10.0.0.13"}
    redis = tuple(
        Endpoint(f"redis-{c}", ip, 6379)
        for c, ip in zip("abc", ["172.21.0.2", "172.22.0.2", "172.22.0.3"], strict=True)
    )
    endpoints: dict[str, tuple[Endpoint, ...]] = {
        "redis": redis,
        "web:http": (Endpoint("web-1", "172.21.0.5", 80), Endpoint("web-2", "172.23.0.4", 80)),
        "web:https": (Endpoint("web-1", "172.21.0.5", 8443), Endpoint("web-2", "172.23.0.4", 8443)),
        "dns": (Endpoint("dns-1", "172.21.0.9", 53, "UDP"),),
    }
    minions = [
        ObservedMinion("m1", True, bridge_subnet="172.21.0.0/16", address="10.99.0.11"),
        ObservedMinion("m2", True, bridge_subnet="172.22.0.0/16", address="10.99.0.12"),
        ObservedMinion("m3", True, bridge_subnet="172.23.0.0/16", address="10.99.0.13"),
    ]
    if step == 2:
        services[1] = service("web", [ServicePort(80, "http", name="http")])
        endpoints = {"redis": redis[:2], "web": endpoints["web:http"], "dns": ()}
        minions = minions[:2]
    rules = proxy.render(services, portals, endpoints, local_pod_subnet="172.21.0.0/16")
    return rules.merged(network.forward_rules(minions))


def without_jump(ruleset: Ruleset, table: str, chain: str, target: str) -> Ruleset:
    jumps = {t: dict(chains) for t, chains in ruleset.jumps.items()}
    jumps[table][chain] = tuple(r for r in jumps[table][chain] if not r.endswith(f"-j {target}"))
    return Ruleset(chains=ruleset.chains, jumps=jumps)


def read(name: str) -> str:
    return (DATA / name).read_text()


EXPECTED_PARSE: list[tuple[str, Callable[[], Ruleset]]] = [
    ("nft-foreign-only.save", Ruleset),
    ("nft-after-teardown.save", Ruleset),
    ("nft-step1.save", lambda: scenario(1)),
    ("legacy-step1.save", lambda: scenario(1)),
    ("nft-step2.save", lambda: scenario(2)),
    ("legacy-step2.save", lambda: scenario(2)),
    ("legacy-step2-user-jump.save", lambda: scenario(2)),
    (
        "nft-step2-missing-jump-counters.save",
        lambda: without_jump(scenario(2), "filter", "FORWARD", proxy.FILTER_CHAIN),
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), EXPECTED_PARSE, ids=[f for f, _ in EXPECTED_PARSE])
def test_parse_save_of_recorded_output(fixture: str, expected: Callable[[], Ruleset]) -> None:
    assert proxy.parse_save(read(fixture)) == expected()


@pytest.mark.parametrize(
    ("fixture", "step"),
    [("nft-step1.save", 1), ("legacy-step1.save", 1), ("nft-step2.save", 2), ("legacy-step2-user-jump.save", 2)],
)
def test_loaded_rules_are_in_sync_and_nothing_is_written(fixture: str, step: int) -> None:
    observed = proxy.parse_save(read(fixture))
    assert proxy.in_sync(observed, scenario(step))
    assert proxy.to_restore(scenario(step), observed) == ""
    assert proxy.diff(observed, scenario(step)) == []


def test_to_restore_is_the_text_real_iptables_restore_accepted() -> None:
    observed = proxy.parse_save(read("nft-step1.save"))
    assert proxy.to_restore(scenario(2), observed) == read("nft-step1-to-step2.restore")


def test_to_restore_from_nothing_declares_writes_and_jumps() -> None:
    text = proxy.to_restore(scenario(1), proxy.parse_save(read("nft-foreign-only.save")))
    lines = text.splitlines()
    assert lines[0] == "*filter" and lines.count("COMMIT") == 2 and "*nat" in lines
    assert ":KUBEPLAY-SERVICES - [0:0]" in lines
    assert '-I PREROUTING 1 -m comment --comment "kubeplay service portals" -j KUBEPLAY-SERVICES' in lines
    assert '-I FORWARD 2 -m comment --comment "kubeplay pod network" -j KUBEPLAY-FORWARD' in lines
    assert not [line for line in lines if line.startswith(("-D", "-X"))]


def test_to_restore_names_nothing_but_kubeplay_chains_and_its_own_jumps() -> None:
    text = proxy.to_restore(Ruleset(), proxy.parse_save(read("nft-step2-missing-jump-counters.save")))
    for line in text.splitlines():
        if line.startswith(":"):
            assert line.startswith(":KUBEPLAY-")
        elif line.startswith(("-D ", "-I ")):
            assert '--comment "kubeplay ' in line and " -j KUBEPLAY-" in line
        elif line.startswith("-X "):
            assert line.startswith("-X KUBEPLAY-")
        else:
            assert line in ("*filter", "*nat", "COMMIT")


def test_to_restore_rewrites_only_a_builtin_chain_whose_jumps_differ() -> None:
    observed = proxy.parse_save(read("nft-step2-missing-jump-counters.save"))
    text = proxy.to_restore(scenario(2), observed)
    assert "*nat" not in text
    jump_lines = [line for line in text.splitlines() if line.startswith(("-D", "-I"))]
    assert jump_lines == [
        '-D FORWARD -m comment --comment "kubeplay pod network" -j KUBEPLAY-FORWARD',
        '-I FORWARD 1 -m comment --comment "kubeplay services without endpoints" -j KUBEPLAY-FILTER',
        '-I FORWARD 2 -m comment --comment "kubeplay pod network" -j KUBEPLAY-FORWARD',
    ]


def test_to_restore_deletes_stale_chains_after_declaring_them() -> None:
    observed = proxy.parse_save(read("nft-step1.save"))
    lines = proxy.to_restore(scenario(2), observed).splitlines()
    stale = set(observed.chains["nat"]) - set(scenario(2).chains["nat"])
    assert len(stale) == 6
    for chain in stale:
        assert lines.index(f":{chain} - [0:0]") < lines.index(f"-X {chain}")


def test_a_user_jump_to_a_kubeplay_chain_is_not_kubeplays() -> None:
    observed = proxy.parse_save(read("legacy-step2-user-jump.save"))
    assert all("198.51.100.1" not in rule for rules in observed.jumps["nat"].values() for rule in rules)


def test_observed_portals_from_recorded_rules() -> None:
    assert proxy.observed_portals(proxy.parse_save(read("nft-step1.save"))) == {
        "dns": "10.0.0.10",
        "empty": "10.0.0.13",
        "redis": "10.0.0.11",
        "web": "10.0.0.12",
    }


def test_diff_shows_what_would_change() -> None:
    observed = proxy.parse_save(read("nft-step2-missing-jump-counters.save"))
    assert proxy.diff(observed, scenario(2)) == [
        "--- observed",
        "+++ desired",
        "@@ -1,2 +1,3 @@",
        " *filter",
        '+-A FORWARD -m comment --comment "kubeplay services without endpoints" -j KUBEPLAY-FILTER',
        ' -A FORWARD -m comment --comment "kubeplay pod network" -j KUBEPLAY-FORWARD',
    ]


# --- render --------------------------------------------------------------------------------------------------


def endpoints_of(count: int, port: int = 80) -> tuple[Endpoint, ...]:
    return tuple(Endpoint(f"pod-{i}", f"172.21.0.{i + 2}", port) for i in range(count))


def nat_chain(ruleset: Ruleset, prefix: str) -> tuple[str, ...]:
    (chain,) = [c for c in ruleset.chains["nat"] if c.startswith(prefix)]
    return ruleset.chains["nat"][chain]


@pytest.mark.parametrize(
    ("count", "probabilities"),
    [
        (1, []),
        (2, ["0.50000000000"]),
        (3, ["0.33333333349", "0.50000000000"]),
        (4, ["0.25000000000", "0.33333333349", "0.50000000000"]),
        (10, ["0.10000000009", "0.11111111101", "0.12500000000", "0.14285714272", "0.16666666651",
              "0.20000000019", "0.25000000000", "0.33333333349", "0.50000000000"]),
    ],
)  # fmt: skip
def test_load_balancing_shares(count: int, probabilities: list[str]) -> None:
    rules = proxy.render([service("web", [ServicePort(80, 80)])], {"web": "10.0.0.5"}, {"web": endpoints_of(count)})
    svc = nat_chain(rules, "KUBEPLAY-SVC-")
    assert len(svc) == count + 1
    assert svc[0].endswith(f" -j {proxy.MASQ_OUTSIDE_CHAIN}")  # then the shares
    shares = [r.split("--probability ")[1].split()[0] for r in svc if "--probability" in r]
    assert shares == probabilities
    assert "statistic" not in svc[-1]
    assert len([c for c in rules.chains["nat"] if c.startswith("KUBEPLAY-SEP-")]) == count


def test_client_ip_affinity_checks_then_sets_recent() -> None:
    web = service("web", [ServicePort(80, 80)], session_affinity="ClientIP")
    rules = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(2)})
    svc = nat_chain(rules, "KUBEPLAY-SVC-")
    seps = sorted(c for c in rules.chains["nat"] if c.startswith("KUBEPLAY-SEP-"))
    checks = [r for r in svc if "--rcheck" in r]
    assert len(checks) == 2
    assert all("--seconds 10800 --reap" in r for r in checks)
    for sep in seps:
        assert f"--rcheck --seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}" in "\n".join(
            checks
        )
        assert f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource -j DNAT" in rules.chains["nat"][sep][0]


def test_balancing_and_endpoint_chains_carry_no_comment() -> None:
    web = service("web", [ServicePort(80, 8080)])
    rules = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(1)})
    (sep,) = [c for c in rules.chains["nat"] if c.startswith("KUBEPLAY-SEP-")]
    assert rules.chains["nat"][sep] == (f"-A {sep} -p tcp -j DNAT --to-destination 172.21.0.2:80",)
    svc = proxy.service_chain(web, web.ports[0])
    assert nat_chain(rules, "KUBEPLAY-SVC-") == (f"-A {svc} -j {proxy.MASQ_OUTSIDE_CHAIN}", f"-A {svc} -j {sep}")


def test_hairpin_is_one_masquerade_per_local_endpoint_ip() -> None:
    """A pod reaching its own service has source == destination after DNAT: each local endpoint IP once, in
    address order, however many service ports it serves; endpoints on other minions need none."""
    web = service("web", [ServicePort(80, 80, name="http"), ServicePort(443, 443, name="https")])
    db = service("db", [ServicePort(5432, 5432)])
    local = [Endpoint("web-1", "172.21.0.10", 80), Endpoint("web-2", "172.21.0.9", 80)]
    remote = Endpoint("web-3", "172.22.0.4", 80)
    endpoints = {
        "web:http": (*local, remote),
        "web:https": tuple(Endpoint(e.pod, e.ip, 443) for e in (*local, remote)),
        "db": (Endpoint("db-1", "172.21.0.9", 5432),),
    }
    portals = {"web": "10.0.0.5", "db": "10.0.0.6"}
    rules = proxy.render([web, db], portals, endpoints, local_pod_subnet="172.21.0.1/16")
    assert rules.chains["nat"][proxy.POSTROUTING_CHAIN][1:] == (
        "-A KUBEPLAY-POSTROUTING -s 172.21.0.9/32 -d 172.21.0.9/32 -j MASQUERADE",
        "-A KUBEPLAY-POSTROUTING -s 172.21.0.10/32 -d 172.21.0.10/32 -j MASQUERADE",
    )
    assert not [
        r
        for chain, rs in rules.chains["nat"].items()
        if chain.startswith("KUBEPLAY-SEP-")
        for r in rs
        if proxy.MARK_MASQ_CHAIN in r
    ]
    unknown_subnet = proxy.render([web, db], portals, endpoints)
    assert [r.split()[3] for r in unknown_subnet.chains["nat"][proxy.POSTROUTING_CHAIN][1:]] == [
        "172.21.0.9/32",
        "172.21.0.10/32",
        "172.22.0.4/32",
    ]


def test_only_portal_public_and_jump_rules_carry_comments() -> None:
    web = service("web", [ServicePort(80, 80)], public_ips=("192.0.2.7",), session_affinity="ClientIP")
    rules = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(3)}, local_pod_subnet="172.21.0.0/16")
    commented = [
        proxy.comment_of(r)
        for chains in rules.chains.values()
        for rs in chains.values()
        for r in rs
        if proxy.comment_of(r)
    ]
    assert sorted(set(commented)) == [
        "kubeplay service traffic requiring SNAT",
        "web:80 portal 10.0.0.5 selector app=web",
        "web:80 public 192.0.2.7",
    ]
    assert all(
        proxy.comment_of(r).startswith("kubeplay ") for js in rules.jumps.values() for rs in js.values() for r in rs
    )


def test_service_without_endpoints_is_rejected_in_the_filter_table() -> None:
    empty = service("empty", [ServicePort(53, 53, protocol="UDP")], public_ips=("192.0.2.7",))
    rules = proxy.render([empty], {"empty": "10.0.0.9"}, {})
    assert rules.chains["filter"][proxy.FILTER_CHAIN] == (
        '-A KUBEPLAY-FILTER -d 10.0.0.9/32 -p udp -m comment --comment "empty:53 portal 10.0.0.9 selector app=empty'
        ' has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
        '-A KUBEPLAY-FILTER -d 192.0.2.7/32 -p udp -m comment --comment "empty:53 public 192.0.2.7 has no endpoints"'
        " -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable",
    )
    assert rules.chains["nat"][proxy.SERVICES_CHAIN] == ()
    assert proxy.observed_portals(rules) == {"empty": "10.0.0.9"}
    assert set(rules.jumps["filter"]) == {"INPUT", "FORWARD", "OUTPUT"}


def test_public_ips_are_marked_for_masquerade_and_load_balanced() -> None:
    web = service("web", [ServicePort(80, 80)], public_ips=("192.0.2.7",))
    rules = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(1)})
    services = rules.chains["nat"][proxy.SERVICES_CHAIN]
    public = [r for r in services if "-d 192.0.2.7/32" in r]
    assert [r.split(" -j ")[1] for r in public] == ["KUBEPLAY-MARK-MASQ", proxy.service_chain(web, web.ports[0])]
    assert all('--comment "web:80 public 192.0.2.7"' in r for r in public)


def test_local_pod_subnet_masquerades_traffic_from_elsewhere() -> None:
    """Every service-port chain first jumps to KUBEPLAY-MASQ-OUTSIDE, the one rule naming the minion's pod subnet:
    the rest is the same on every minion."""
    web = service("web", [ServicePort(80, 80)])
    without = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(1)})
    rules = proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(1)}, local_pod_subnet="172.21.0.0/16")
    assert without.chains["nat"][proxy.MASQ_OUTSIDE_CHAIN] == ()
    assert rules.chains["nat"][proxy.MASQ_OUTSIDE_CHAIN] == (
        "-A KUBEPLAY-MASQ-OUTSIDE ! -s 172.21.0.0/16 -j KUBEPLAY-MARK-MASQ",
    )
    assert nat_chain(rules, "KUBEPLAY-SVC-")[0].endswith(" -j KUBEPLAY-MASQ-OUTSIDE")
    assert {c: r for c, r in rules.chains["nat"].items() if c != proxy.MASQ_OUTSIDE_CHAIN} == {
        c: r for c, r in without.chains["nat"].items() if c != proxy.MASQ_OUTSIDE_CHAIN
    }
    assert proxy.render([web], {"web": "10.0.0.5"}, {"web": endpoints_of(1)}, local_pod_subnet="172.21.0.1/16") == rules


def test_services_without_a_portal_are_left_out() -> None:
    rules = proxy.render([service("web", [ServicePort(80, 80)])], {}, {"web": endpoints_of(1)})
    assert rules == proxy.render([], {}, {})


def test_multi_port_services_take_endpoints_per_port() -> None:
    web = service("web", [ServicePort(80, 80, name="http"), ServicePort(443, 443, name="https")])
    endpoints = {"web:http": endpoints_of(2), "web:https": endpoints_of(3, 443)}
    rules = proxy.render([web], {"web": "10.0.0.5"}, endpoints)
    svcs = {c: r for c, r in rules.chains["nat"].items() if c.startswith("KUBEPLAY-SVC-")}
    assert sorted(len(r) for r in svcs.values()) == [1 + 2, 1 + 3]  # the jump to KUBEPLAY-MASQ-OUTSIDE, the shares
    assert proxy.observed_portals(rules) == {"web": "10.0.0.5"}


def test_chain_names_are_short_stable_and_distinct() -> None:
    web = service("a-very-long-service-name-for-testing", [ServicePort(80, 80), ServicePort(80, 80, "UDP")])
    tcp, udp = (proxy.service_chain(web, p) for p in web.ports)
    assert tcp != udp
    assert len(tcp) == len(udp) == proxy.MAX_CHAIN_NAME
    assert tcp == proxy.service_chain(web, web.ports[0])
    assert tcp.startswith("KUBEPLAY-SVC-")


@pytest.mark.parametrize("key", ["web:80/TCP", "db:5432/TCP:10.0.0.7:5432", "ünïcode:1/UDP", ""])
def test_chain_names_are_the_base32_of_the_keys_sha256(key: str) -> None:
    """The names rules already on the minions carry: a new way of making them must give the very same ones."""
    for kind in ("SVC", "SEP", "X"):
        head = f"KUBEPLAY-{kind}-"
        digest = hashlib.sha256(key.encode()).digest()
        assert proxy.chain_name(kind, key) == (head + base64.b32encode(digest).decode())[: proxy.MAX_CHAIN_NAME]


def test_endpoint_chains_of_random_services_are_the_rule_written_plainly() -> None:
    """Each endpoint of a service port (the same one listed twice too) has its chain, named ``endpoint_chain``, with
    its DNAT rule (once per listing, affinity remembered), and the service port's chain jumps to them in order."""
    rng = random.Random(13)
    for _ in range(300):
        ports = [
            ServicePort(80 + n, 8080, rng.choice(["TCP", "UDP"]), name=f"p{n}") for n in range(rng.randrange(1, 3))
        ]
        web = service("web", ports, session_affinity=rng.choice(["None", "ClientIP"]))
        ips = [f"172.21.{rng.randrange(2)}.{rng.randrange(2, 6)}" for _ in range(rng.randrange(1, 6))]
        endpoints = {
            f"web:{p.name}" if len(ports) > 1 else "web": tuple(
                Endpoint(f"w{i}", ip, 8080, p.protocol) for i, ip in enumerate(ips)
            )
            for p in ports
        }
        nat = proxy.render_shared([web], {"web": "10.0.0.7"}, endpoints).chains
        for port, found in zip(ports, endpoints.values(), strict=True):
            seps = [proxy.endpoint_chain(web, port, e) for e in found]
            recent = " -m recent --set --name {} --mask 255.255.255.255 --rsource"
            for sep in dict.fromkeys(seps):
                remember = recent.format(sep) if web.session_affinity == "ClientIP" else ""
                dnat = [f"-A {sep} -p {e.protocol.lower()}{remember} -j DNAT --to-destination {e}" for e in found]
                assert nat[sep] == tuple(r for r, name in zip(dnat, seps, strict=True) if name == sep)
            targets = [r.rsplit(" -j ", 1)[1] for r in nat[proxy.service_chain(web, port)]]
            assert targets[-len(seps) :] == seps


def test_merged_rejects_a_chain_defined_twice() -> None:
    rules = proxy.render([], {}, {})
    with pytest.raises(ValueError, match="KUBEPLAY-SERVICES"):
        rules.merged(rules)


@pytest.mark.parametrize(
    ("rule", "comment"),
    [
        ('-A X -m comment --comment "a b" -j Y', "a b"),
        ("-A X -m comment --comment bare -j Y", "bare"),
        (r'-A X -m comment --comment "say \"hi\"" -j Y', 'say "hi"'),
        ("-A X -j Y", ""),
    ],
)
def test_comment_of(rule: str, comment: str) -> None:
    assert proxy.comment_of(rule) == comment


def test_a_services_portal_ports_and_selector_are_read_back_from_its_rules() -> None:
    web = service("web", [ServicePort(80, 8080, name="http"), ServicePort(53, 53, "UDP", "dns")])
    empty = service("empty", [ServicePort(6379, 6379)])
    rules = proxy.render([web, empty], {"web": "10.0.0.5", "empty": "10.0.0.9"}, {"web:http": endpoints_of(2)})
    seen = proxy.observed_services(rules)
    assert seen == {
        "web": proxy.SeenService("web", "default", "10.0.0.5", ("80/TCP", "53/UDP"), {"app": "web"}),
        "empty": proxy.SeenService("empty", "default", "10.0.0.9", ("6379/TCP",), {"app": "empty"}),
    }


def test_a_selector_too_long_for_an_iptables_comment_is_left_out_of_it() -> None:
    long = service("web", [ServicePort(80, 80)])
    long = Service(long.name, {}, {f"key{i}": "v" * 60 for i in range(4)}, long.ports, long.source)
    rules = proxy.render([long], {"web": "10.0.0.5"}, {}, project="shop")
    (reject,) = rules.chains["filter"][proxy.FILTER_CHAIN]
    assert proxy.comment_of(reject) == "shop/web:80 portal 10.0.0.5 has no endpoints"
    assert proxy.observed_services(rules)["web"].selector == {}


def test_the_shared_rules_are_rendered_once_and_each_minion_adds_its_subnet_and_hairpin_rules() -> None:
    web = service("web", [ServicePort(80, 80)], public_ips=("192.0.2.7",))
    db = service("db", [ServicePort(5432, 5432)])
    endpoints = {"web": (Endpoint("a", "172.21.0.2", 80), Endpoint("b", "172.22.0.3", 80)), "db": endpoints_of(1)}
    portals = {"web": "10.0.0.5", "db": "10.0.0.6"}
    shared = proxy.render_shared([web, db], portals, endpoints)
    one = proxy.render_minion(shared, "172.21.0.1/16")
    two = proxy.render_minion(shared, "172.22.0.1/16")
    assert one == proxy.render([web, db], portals, endpoints, local_pod_subnet="172.21.0.1/16")
    svc = proxy.service_chain(web, web.ports[0])
    for chain in (svc, proxy.SERVICES_CHAIN):
        assert one.chains["nat"][chain] is two.chains["nat"][chain]  # one tuple for every minion
    assert one.chains["filter"][proxy.FILTER_CHAIN] is two.chains["filter"][proxy.FILTER_CHAIN]
    assert two.chains["nat"][proxy.MASQ_OUTSIDE_CHAIN] == (
        "-A KUBEPLAY-MASQ-OUTSIDE ! -s 172.22.0.0/16 -j KUBEPLAY-MARK-MASQ",
    )
    assert (
        two.chains["nat"][proxy.POSTROUTING_CHAIN][-1]
        == "-A KUBEPLAY-POSTROUTING -s 172.22.0.3/32 -d 172.22.0.3/32 -j MASQUERADE"
    )


def test_a_minions_rules_compare_with_what_it_has_without_copying_the_shared_chains() -> None:
    web = service("web", [ServicePort(80, 80)])
    shared = proxy.render_shared([web], {"web": "10.0.0.5"}, {"web": endpoints_of(2)})
    desired = proxy.render_minion(shared, "172.21.0.1/16")
    has = Ruleset({table: dict(chains) for table, chains in desired.chains.items()}, desired.jumps)  # as read
    assert proxy.in_sync(has, desired) and proxy.to_restore(desired, has) == ""
    changed = proxy.render_minion(proxy.render_shared([web], {"web": "10.0.0.5"}, {"web": endpoints_of(3)}))
    assert not proxy.in_sync(has, changed)
    assert proxy.service_chain(web, web.ports[0]) in proxy.to_restore(changed, has)
    with_forward = desired.merged(proxy.ruleset_of("nat", {"KUBEPLAY-EXTRA": []}))
    assert with_forward.chains["nat"]["KUBEPLAY-EXTRA"] == ()
    assert with_forward.chains["nat"] != desired.chains["nat"]
    assert len(with_forward.chains["nat"]) == len(desired.chains["nat"]) + 1
