"""The service proxy as iptables rules (kube-proxy's iptables mode, with kubeplay's own chains): render, parse, diff.

Pure: ``render`` turns services, portal IPs and endpoints into a ``Ruleset``; ``parse_save`` reads the same shape
back from ``iptables-save`` output; ``to_restore`` writes the one ``iptables-restore --noflush`` input that turns
the observed ruleset into the desired one. Rules are kept exactly as iptables-save prints them, so a ruleset
loaded and saved again parses back equal and a second apply writes nothing.

Layout (verified with iptables 1.8.9, nf_tables and legacy, in a network namespace)::

    nat    PREROUTING, OUTPUT -> KUBEPLAY-SERVICES      one rule per portal or public IP and service port
                                   -> KUBEPLAY-SVC-<hash>   one per service port with endpoints: a jump to
                                                            KUBEPLAY-MASQ-OUTSIDE, affinity (recent --rcheck),
                                                            then statistic random shares
                                       -> KUBEPLAY-MASQ-OUTSIDE  ! -s <the minion's pod subnet>: to MARK-MASQ
                                       -> KUBEPLAY-SEP-<hash>  one per endpoint: DNAT
           POSTROUTING -> KUBEPLAY-POSTROUTING          MASQUERADE what KUBEPLAY-MARK-MASQ marked, and hairpin
                                                        traffic: one rule per local endpoint IP (-s IP -d IP)
    filter INPUT, FORWARD, OUTPUT -> KUBEPLAY-FILTER    REJECT for a service port without endpoints

Only KUBEPLAY-MASQ-OUTSIDE names the minion (traffic to a service from outside its pods is masqueraded, as
kube-proxy does for traffic from outside its cluster CIDR), and POSTROUTING's hairpin rules its endpoints: the rest
is the same on every minion, rendered once (``render_shared``) and referenced by every minion's ``Ruleset``
(``render_minion``, ``ChainsOver``). Read back, it is parsed once too (``split_save``, ``parse_shared``, sync.py),
and the two compare by fingerprint (``SharedChains``).

INPUT catches a public IP that is the minion's own, FORWARD containers on the minion, OUTPUT the minion's
own processes. Jumps are inserted at the top of the built-in chains so Docker's ACCEPTs do not shadow them.

Hairpin: a pod reaching its own service is DNATed to itself, so in POSTROUTING its packet has source ==
destination; masquerading exactly those (one rule per endpoint IP on this minion, whatever the number of
services it serves) makes the reply come back through the minion. A pod on another minion never reaches this
minion's nat table with a portal IP (its own minion DNATs it first), so only local endpoints need the rule.

Comments are only where they are read back: the rules matching a portal IP say
``"<project>/<service>:<port> portal <IP>"`` (``observed_portals`` finds the IPs kubeplay gave out from them,
``observed_projects`` whose services they are), a public IP's ``"<project>/<service>:<port> public <IP>"``,
kubeplay's jumps ``"kubeplay ..."``. The project ``default`` is written without its ``default/`` (as every rule was
before kubeplay had projects). The per-service and per-endpoint chains (the bulk) carry none: each comment costs
bytes to write, to save and to match.

Projects: a run renders only its own project's services; another project's services are kept exactly as they
were read back (``kept_services``: their rules in KUBEPLAY-SERVICES and KUBEPLAY-FILTER, found by comment, and
the chains those jump to), merged in service-name order as if rendered here.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from kubeplay.dataclass import dataclass, field
from kubeplay.model import DEFAULT_PROJECT, Service, ServicePort
from kubeplay.names import label_key_error, label_value_error
from kubeplay.proxy.endpoints import Endpoint, endpoints_key, service_port_id
from kubeplay.selectors import format_selector

PREFIX = "KUBEPLAY-"
SERVICES_CHAIN = "KUBEPLAY-SERVICES"
FILTER_CHAIN = "KUBEPLAY-FILTER"
MARK_MASQ_CHAIN = "KUBEPLAY-MARK-MASQ"
POSTROUTING_CHAIN = "KUBEPLAY-POSTROUTING"
MASQ_OUTSIDE_CHAIN = "KUBEPLAY-MASQ-OUTSIDE"
"""The one chain naming the minion's pod subnet: marks for masquerading what does not come from it."""
FORWARD_CHAIN = "KUBEPLAY-FORWARD"
"""The pod network's chain (routes.py)."""
SHARED_CHAINS = (SERVICES_CHAIN, FILTER_CHAIN, FORWARD_CHAIN)
SHARED_KINDS = (f"{PREFIX}SVC-", f"{PREFIX}SEP-")
"""``SHARED_CHAINS`` and the chains named ``SHARED_KINDS``-something are the same on every minion of a converged
cluster (KUBEPLAY-FORWARD too, but while routes to an unreachable minion are kept): the minions' shared part
(``shared_chain``), read once for all of them (``split_save``) and rendered once (``shared_view``)."""
MASQ_MARK = "0x4000/0x4000"
AFFINITY_SECONDS = 10800
JUMP_COMMENT_PREFIX = "kubeplay "
"""kubeplay's jump rules carry a comment starting with this; a jump someone else added is never touched."""
MAX_CHAIN_NAME = 28
"""iptables' limit on chain names (XT_EXTENSION_MAXNAMELEN - 1)."""
MAX_COMMENT = 255
"""iptables' limit on a comment's bytes (XT_MAX_COMMENT_LEN - 1)."""
NO_ENDPOINTS = " has no endpoints"

_SERVICE_COMMENT = re.compile(r"^(?:(?P<project>[a-z0-9-]+)/)?(?P<service>[^:\s/]+):\S+ (?P<kind>portal|public) ")
_PORTAL_COMMENT = re.compile(r"^(?:(?P<project>[a-z0-9-]+)/)?(?P<service>[^:\s/]+):\S+ portal (?P<ip>[0-9.]+)(?:\s|$)")
_PORTAL_SELECTOR = r" portal [0-9.]+ selector (?P<selector>\S+)"  # (these 4 compiled when first used, by re's cache)
_PORT_MATCH = r" -p (?P<protocol>tcp|udp) .*--dport (?P<port>\d+)"
_DNAT_TO = re.compile(r" --to-destination (?P<ip>[0-9.]+):")
_COMMENT = re.compile(r'--comment (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>\S+))')
_KUBEPLAY_TARGET = re.compile(r"\s-[jg] (?P<chain>KUBEPLAY-\S+)$")
_ESCAPED = r"\\(.)"
_COUNTERS = r"^\[\d+:\d+\]\s+"
_OWN_RULE = f"-A {PREFIX}"
_DECLARED = f":{PREFIX}"

ChainRules = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Ruleset:
    """kubeplay's part of a minion's iptables, every rule as iptables-save prints it ("-A CHAIN ...").

    ``chains``: table -> kubeplay chain -> its rules (a chain may be empty).
    ``jumps``: table -> built-in chain -> kubeplay's jump rules in it (a jump to a kubeplay chain whose comment
    starts with "kubeplay "), in order.
    Tables and built-in chains without entries are left out, so equal rulesets compare equal.
    """

    chains: Mapping[str, ChainRules] = field(default_factory=dict)
    jumps: Mapping[str, ChainRules] = field(default_factory=dict)
    shared: Ruleset | None = field(default=None, compare=False, repr=False)
    """The part of these rules that many minions' rules reference (``with_shared``: each of its tables' chains are
    ``chains[table].shared``, the very object), read or rendered once; None when there is none. What depends on it
    alone is found in it once for all of them (plan.py)."""

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.chains) | set(self.jumps)))

    def merged(self, other: Ruleset) -> Ruleset:
        """Both rulesets in one (e.g. the proxy's and the pod network's); a chain defined twice is an error. The
        chains' rule tuples are shared, not copied."""
        chains = dict(self.chains)
        for table, found in other.chains.items():
            chains[table] = _both(table, chains.get(table, {}), found)
        jumps = {table: dict(found) for table, found in self.jumps.items()}
        for table, found in other.jumps.items():
            mine = jumps.setdefault(table, {})
            for chain, rules in found.items():
                mine[chain] = (*mine.get(chain, ()), *rules)
        return Ruleset(chains, jumps)


def _both(table: str, mine: ChainRules, theirs: ChainRules) -> ChainRules:
    """The chains of both (a minion's own chains stay over the shared ones); a chain in both is an error."""
    for chain in theirs:
        if chain in mine:
            raise ValueError(f"chain {chain} in table {table} is defined twice")
    if isinstance(theirs, ChainsOver):
        mine, theirs = theirs, mine
    if isinstance(mine, ChainsOver):
        return ChainsOver({**mine.own, **theirs}, mine.shared)
    return {**mine, **theirs}


class ChainsOver(Mapping[str, tuple[str, ...]]):
    """A table's chains: a minion's own ones over chains every minion shares, which are referenced, not copied
    (1,000 minions' rules for 5,000 services hold the services' chains once). Compares equal to any mapping of the
    same chains and rules; two over the same shared chains compare only their own."""

    __slots__ = ("own", "shared")

    def __init__(self, own: ChainRules, shared: ChainRules) -> None:
        self.own, self.shared = own, shared
        for chain in own:
            if chain in shared:
                raise ValueError(f"chain {chain} is both shared and a minion's own")

    def __getitem__(self, chain: str) -> tuple[str, ...]:
        found = self.own.get(chain)
        return self.shared[chain] if found is None else found

    def __contains__(self, chain: object) -> bool:
        return chain in self.own or chain in self.shared

    def __iter__(self) -> Iterator[str]:
        yield from self.shared
        yield from self.own

    def __len__(self) -> int:
        return len(self.shared) + len(self.own)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChainsOver):
            if other.shared is self.shared or _same_chains(self.shared, other.shared):
                return dict(self.own) == dict(other.own)  # (no chain is in both parts)
            if _same_names(self.shared, other.shared):
                return False  # a chain differs in both shared parts, and is in neither own part
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(other.get(chain) == rules for chain, rules in self.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChainsOver(own={self.own!r}, shared={len(self.shared)} chains)"


class SharedChains(Mapping[str, tuple[str, ...]]):
    """A table's chains that many minions' rules reference (the shared part of ``ChainsOver``), read or rendered once,
    with their fingerprints, computed once: two compare in O(1) however many rules they hold (a no-op compares
    1,000 minions' 51,000 rules each with the desired ones). Compares equal to any mapping of the same chains and
    rules."""

    __slots__ = ("_fingerprints", "chains")

    def __init__(self, chains: ChainRules) -> None:
        self.chains = chains
        self._fingerprints: tuple[bytes, bytes] | None = None

    def __getitem__(self, chain: str) -> tuple[str, ...]:
        return self.chains[chain]

    def __contains__(self, chain: object) -> bool:
        return chain in self.chains

    def __iter__(self) -> Iterator[str]:
        return iter(self.chains)

    def __len__(self) -> int:
        return len(self.chains)

    @property
    def fingerprints(self) -> tuple[bytes, bytes]:
        """SHA-256 of the chains' names, and of the names with the rules, in name order (a rule holds no newline)."""
        if self._fingerprints is None:
            names = sorted(self.chains)
            self._fingerprints = (
                hashlib.sha256("\n".join(names).encode(errors="surrogateescape")).digest(),
                hashlib.sha256(
                    "".join(f"\0{name}\n" + "\n".join(self.chains[name]) for name in names).encode(
                        errors="surrogateescape"
                    )
                ).digest(),
            )
        return self._fingerprints

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SharedChains):
            return other is self or other.fingerprints == self.fingerprints
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.chains) == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SharedChains({len(self.chains)} chains)"


def _same_chains(one: ChainRules, other: ChainRules) -> bool:
    """True when both are known to hold the same chains and rules (in O(1), once their fingerprints are known)."""
    return isinstance(one, SharedChains) and isinstance(other, SharedChains) and one == other


def _same_names(one: ChainRules, other: ChainRules) -> bool:
    """True when both are known to hold chains of the same names."""
    return (
        isinstance(one, SharedChains)
        and isinstance(other, SharedChains)
        and one.fingerprints[0] == other.fingerprints[0]
    )


def shared_chain(name: str) -> bool:
    """Whether a chain of this name is in the minions' shared part (see ``SHARED_CHAINS``)."""
    return name in SHARED_CHAINS or name.startswith(SHARED_KINDS)


def with_shared(own: Ruleset, shared: Ruleset) -> Ruleset:
    """A minion's rules: its ``own`` chains and jumps, and ``shared``'s chains referenced (per table, ``ChainsOver``),
    ``shared`` kept as their shared part. Raises ValueError for a chain in both."""
    chains = dict(own.chains)
    for table, found in shared.chains.items():
        chains[table] = ChainsOver(own.chains.get(table, {}), found)
    return Ruleset(chains, own.jumps, shared)


def own_part(ruleset: Ruleset) -> Ruleset:
    """The rules without their shared part (``with_shared``); all of them when there is none."""
    if ruleset.shared is None:
        return ruleset
    chains = {t: c.own if isinstance(c, ChainsOver) else c for t, c in ruleset.chains.items()}
    return Ruleset(chains, ruleset.jumps)


NO_RULES = Ruleset()


def _shared_part(chains: Mapping[str, ChainRules]) -> Ruleset:
    """A shared part (``with_shared``): table -> its chains, each table's as one ``SharedChains``."""
    return Ruleset({t: SharedChains(c) for t, c in chains.items()})


def ruleset_of(table: str, chains: Mapping[str, Sequence[str]], jumps: Sequence[str] = ()) -> Ruleset:
    """A ruleset of one table from chain -> full rules ("-A CHAIN ...") and jump rules in built-in chains."""
    builder = _RulesetBuilder()
    for chain, rules in chains.items():
        builder.declare(table, chain)
        for rule in rules:
            builder.rule(table, rule)
    for rule in jumps:
        builder.jump(table, rule)
    return builder.build()


class _RulesetBuilder:
    """A ``Ruleset`` being put together, chain by chain and rule by rule."""

    def __init__(self) -> None:
        self.chains: dict[str, dict[str, list[str]]] = {}
        self.jumps: dict[str, dict[str, list[str]]] = {}

    def declare(self, table: str, chain: str) -> None:
        self.chains.setdefault(table, {}).setdefault(chain, [])

    def rule(self, table: str, rule: str) -> None:
        self.rule_in(table, _chain_of(rule), rule)

    def rule_in(self, table: str, chain: str, rule: str) -> None:
        """``rule`` ("-A chain ...") appended to ``chain``, declared if new."""
        self.chain(table, chain).append(rule)

    def chain(self, table: str, chain: str) -> list[str]:
        """The rules of ``chain`` so far (declared if new), to append to."""
        return self.chains.setdefault(table, {}).setdefault(chain, [])

    def jump(self, table: str, rule: str) -> None:
        self.jumps.setdefault(table, {}).setdefault(_chain_of(rule), []).append(rule)

    def build(self) -> Ruleset:
        return Ruleset(
            chains={t: {c: tuple(r) for c, r in chains.items()} for t, chains in self.chains.items()},
            jumps={t: {c: tuple(r) for c, r in jumps.items()} for t, jumps in self.jumps.items()},
        )


# --- render --------------------------------------------------------------------------------------------------


def chain_name(kind: str, key: str) -> str:
    """``KUBEPLAY-<kind>-<hash of key>``, at most 28 characters, stable for the same key."""
    head, size = _name_parts(kind)
    return f"{head}{_base32(hashlib.sha256(key.encode()).digest()[:size])}"[:MAX_CHAIN_NAME]


def _chain_names(kind: str, keys: Iterable[str]) -> list[str]:
    """``chain_name(kind, key)`` of each key (a service port's endpoints: the kind's parts looked up once)."""
    head, size = _name_parts(kind)
    sha256, base32 = hashlib.sha256, _base32
    return [f"{head}{base32(sha256(key.encode()).digest()[:size])}"[:MAX_CHAIN_NAME] for key in keys]


@functools.cache
def _name_parts(kind: str) -> tuple[str, int]:
    """A kind's chain name head, and how many bytes of the hash its name keeps: base32 turns each 5 bytes into 8
    characters on their own, so only those the name keeps are encoded."""
    head = f"{PREFIX}{kind}-"
    chars = max(0, MAX_CHAIN_NAME - len(head))
    return head, -(-chars // 8) * 5


_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32_PAIRS = tuple(first + second for first in _BASE32 for second in _BASE32)
"""Every 10 bits' two base32 characters."""


def _base32(data: bytes) -> str:
    """``base64.b32encode(data).decode()`` for a multiple of 5 bytes, ten bits at a time: twice as fast as it, for
    the chains of 5,000 services (25,000 names a render)."""
    number, pairs = int.from_bytes(data), _BASE32_PAIRS
    return "".join([pairs[(number >> shift) & 1023] for shift in _shifts(len(data))])


@functools.cache
def _shifts(size: int) -> tuple[int, ...]:
    """Where each 10 bits of a ``size``-byte number start, highest first."""
    return tuple(range(size * 8 - 10, -1, -10))


def service_chain(service: Service, port: ServicePort) -> str:
    return chain_name("SVC", _chain_key(service, port))


def endpoint_chain(service: Service, port: ServicePort, endpoint: Endpoint) -> str:
    return chain_name("SEP", f"{_chain_key(service, port)}:{endpoint}")


def _chain_key(service: Service, port: ServicePort) -> str:
    """What a service port's chain name is the hash of; its endpoints' are this and ``:<endpoint>``."""
    return f"{service_port_id(service, port)}/{port.protocol}"


@functools.cache
def probability(share: int) -> str:
    """1/share as iptables-save prints it: the kernel keeps it as a fraction of 2**31, shown with 11 digits."""
    return f"{int(0x80000000 / share + 0.5) / 0x80000000:.11f}"


def render(
    services: Sequence[Service],
    portals: Mapping[str, str],
    endpoints: Mapping[str, Sequence[Endpoint]],
    *,
    local_pod_subnet: str = "",
    project: str = DEFAULT_PROJECT,
    kept: Sequence[KeptService] = (),
) -> Ruleset:
    """The proxy rules for one minion. Services without a portal IP in ``portals`` are left out.

    ``local_pod_subnet`` (the minion's docker bridge subnet): traffic to a portal IP that does not come from a
    pod on this minion is masqueraded, as kube-proxy does for traffic from outside its cluster CIDR.
    ``project``: the services' project, written in their comments. ``kept``: services (of other projects) whose
    rules are written as they were read back.
    """
    return render_minion(render_shared(services, portals, endpoints, project), local_pod_subnet, kept)


@dataclass(frozen=True)
class SharedRules:
    """Every minion's proxy rules but its own few, rendered once for a run (``render_shared``): the project's rules
    in KUBEPLAY-SERVICES and KUBEPLAY-FILTER and its service-port and endpoint chains (the bulk), whose tuples
    every minion's ``Ruleset`` references. ``render_minion`` adds a minion's own part."""

    services: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    """(service name, its rules in KUBEPLAY-SERVICES, in KUBEPLAY-FILTER), in name order."""
    nat_services: tuple[str, ...] = ()
    """KUBEPLAY-SERVICES: every service's rules there, in name order."""
    filter: tuple[str, ...] = ()
    """KUBEPLAY-FILTER: every service's rules there, in name order."""
    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """nat: KUBEPLAY-SVC-* and KUBEPLAY-SEP-* -> their rules."""
    endpoint_ips: tuple[tuple[int, str], ...] = ()
    """Every endpoint IP (as a number, and as written), in address order: a minion's hairpin rules are the ones in
    its pod subnet."""


def render_shared(
    services: Sequence[Service],
    portals: Mapping[str, str],
    endpoints: Mapping[str, Sequence[Endpoint]],
    project: str = DEFAULT_PROJECT,
) -> SharedRules:
    """The rules of the project's services (those with a portal IP) that are the same on every minion."""
    builder = _RulesetBuilder()
    nat_services, filter_rules = builder.chain("nat", SERVICES_CHAIN), builder.chain("filter", FILTER_CHAIN)
    rendered = []
    ips: set[str] = set()
    for service in sorted((s for s in services if portals.get(s.name)), key=lambda s: s.name):
        nat_before, filter_before = len(nat_services), len(filter_rules)
        for port in service.ports:
            found = tuple(endpoints.get(endpoints_key(service, port), ()))
            _render_service_port(builder, service, port, portals[service.name], found, project)
            ips.update(e.ip for e in found)
        rendered.append((service.name, tuple(nat_services[nat_before:]), tuple(filter_rules[filter_before:])))
    nat = builder.build().chains.get("nat", {})
    return SharedRules(
        tuple(rendered),
        tuple(nat_services),
        tuple(filter_rules),
        {c: r for c, r in nat.items() if c != SERVICES_CHAIN},
        tuple(sorted((int.from_bytes(socket.inet_aton(ip)), ip) for ip in ips)),  # ipaddress is slow for 50,000
    )


def render_minion(
    shared: SharedRules,
    local_pod_subnet: str = "",
    kept: Sequence[KeptService] = (),
    extra: Ruleset = NO_RULES,
    view: Ruleset | None = None,
) -> Ruleset:
    """One minion's proxy rules: the ``shared`` ones, the ``kept`` services of other projects (merged in
    service-name order) and ``extra``'s shared chains (the pod network's) as one shared part (``view``, when
    ``shared_view`` already made it for another minion; referenced, not copied), then its own few: the rule naming
    its pod subnet, its hairpin rules (its local endpoints) and ``extra``'s other chains and jumps. Its own part is
    a few rules plus one per local endpoint, whatever the number of services."""
    hairpin = _local_ips(shared.endpoint_ips, local_pod_subnet)
    if kept:
        more = {ip for service in kept for ip in service.endpoint_ips if _in_subnet(ip, local_pod_subnet)}
        hairpin = sorted(more.union(hairpin), key=socket.inet_aton)
    outside: tuple[str, ...] = ()
    if local_pod_subnet:  # as iptables-save prints it: the network address, e.g. 172.21.0.1/16 -> 172.21.0.0/16
        outside = (f"-A {MASQ_OUTSIDE_CHAIN} ! -s {parsed_network(local_pod_subnet)} -j {MARK_MASQ_CHAIN}",)
    nat = {
        MARK_MASQ_CHAIN: _BASE_RULES[MARK_MASQ_CHAIN],
        MASQ_OUTSIDE_CHAIN: outside,
        POSTROUTING_CHAIN: (*_BASE_RULES[POSTROUTING_CHAIN], *_hairpin_rules(hairpin)),
    }
    extra_own = {t: {c: r for c, r in chains.items() if not shared_chain(c)} for t, chains in extra.chains.items()}
    own = Ruleset({"nat": nat}, _BASE_JUMPS).merged(Ruleset({t: c for t, c in extra_own.items() if c}, extra.jumps))
    return with_shared(own, view if view is not None else shared_view(shared, kept, extra))


def shared_view(shared: SharedRules, kept: Sequence[KeptService] = (), extra: Ruleset = NO_RULES) -> Ruleset:
    """The shared part of every minion's rules rendered with these ``kept`` services and ``extra`` rules (see
    ``render_minion``): KUBEPLAY-SERVICES and KUBEPLAY-FILTER (the shared tuples themselves when no service is
    kept), the service-port and endpoint chains, and ``extra``'s chains that ``shared_chain`` names. Raises
    ValueError for a chain defined twice."""
    nat_services, filter_rules = _merged_with_kept(shared, kept)
    chains: dict[str, dict[str, tuple[str, ...]]] = {
        "nat": {SERVICES_CHAIN: nat_services, **shared.chains},
        "filter": {FILTER_CHAIN: filter_rules},
    }
    more = [*(("nat", k.chains) for k in kept), *extra.chains.items()]
    for table, found in more:
        mine = chains.setdefault(table, {})
        for chain, rules in found.items():
            if shared_chain(chain):
                if chain in mine:
                    raise ValueError(f"chain {chain} in table {table} is defined twice")
                mine[chain] = rules
    return _shared_part(chains)


def _merged_with_kept(shared: SharedRules, kept: Sequence[KeptService]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """KUBEPLAY-SERVICES and KUBEPLAY-FILTER: the shared tuples themselves when no service is kept, else every
    service's rules in service-name order."""
    if not kept:
        return shared.nat_services, shared.filter
    items = sorted([*shared.services, *((k.name, k.nat, k.filter) for k in kept)], key=lambda item: item[0])
    return tuple(r for _, nat, _ in items for r in nat), tuple(r for _, _, filter_rules in items for r in filter_rules)


def _local_ips(ips: Sequence[tuple[int, str]], local_pod_subnet: str) -> list[str]:
    """The IPs of ``ips`` (numbered, in address order) in the subnet, in that order; all of them when it is not
    known."""
    if local_pod_subnet:
        subnet = parsed_network(local_pod_subnet)
        low, high = int(subnet.network_address), int(subnet.broadcast_address)
        ips = ips[bisect.bisect_left(ips, (low, "")) : bisect.bisect_right(ips, (high + 1, ""))]
    return [ip for _, ip in ips]


@functools.lru_cache(maxsize=1 << 12)
def parsed_network(cidr: str) -> ipaddress.IPv4Network:
    """``ipaddress.IPv4Network(cidr, strict=False)`` (raising ValueError as it does), parsed once per text: a run
    over a thousand minions reads each one's pod subnet again and again (routes, forward and hairpin rules)."""
    return ipaddress.IPv4Network(cidr, strict=False)


def _in_subnet(ip: str, local_pod_subnet: str) -> bool:
    return not local_pod_subnet or ipaddress.IPv4Address(ip) in parsed_network(local_pod_subnet)


@dataclass(frozen=True)
class KeptService:
    """One service's rules as read back from a minion, to be written again unchanged."""

    name: str
    project: str
    nat: tuple[str, ...] = ()
    """Its rules in KUBEPLAY-SERVICES, in order."""
    filter: tuple[str, ...] = ()
    """Its rules in KUBEPLAY-FILTER, in order."""
    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Its own nat chains (service ports, endpoints) -> their rules."""

    @property
    def endpoint_ips(self) -> set[str]:
        """The IPs its endpoint chains send to (for the hairpin rules)."""
        return {m["ip"] for rules in self.chains.values() for rule in rules if (m := _DNAT_TO.search(rule))}


def _comment_prefix(project: str) -> str:
    return "" if project == DEFAULT_PROJECT else f"{project}/"


def _hairpin_rules(ips: Iterable[str]) -> list[str]:
    """Masquerade a local endpoint's packets to itself (see the module docstring): ``ips``, the endpoints in the
    minion's pod subnet in address order (every endpoint when it is not known: a rule for a remote IP never
    matches)."""
    return [f"-A {POSTROUTING_CHAIN} -s {ip}/32 -d {ip}/32 -j MASQUERADE" for ip in ips]


_BASE_RULES = {
    MARK_MASQ_CHAIN: (f"-A {MARK_MASQ_CHAIN} -j MARK --set-xmark {MASQ_MARK}",),
    POSTROUTING_CHAIN: (
        f'-A {POSTROUTING_CHAIN} -m comment --comment "kubeplay service traffic requiring SNAT"'
        f" -m mark --mark {MASQ_MARK} -j MASQUERADE",
    ),
}
"""A minion's own chains' first rules (the hairpin rules follow in POSTROUTING's; KUBEPLAY-MASQ-OUTSIDE's names its
pod subnet)."""
_BASE_JUMPS = {
    "nat": {
        **{
            chain: (f'-A {chain} -m comment --comment "kubeplay service portals" -j {SERVICES_CHAIN}',)
            for chain in ("PREROUTING", "OUTPUT")
        },
        "POSTROUTING": (f'-A POSTROUTING -m comment --comment "kubeplay service SNAT" -j {POSTROUTING_CHAIN}',),
    },
    "filter": {
        chain: (f'-A {chain} -m comment --comment "kubeplay services without endpoints" -j {FILTER_CHAIN}',)
        for chain in ("INPUT", "FORWARD", "OUTPUT")
    },
}
"""kubeplay's jumps in the built-in chains, the same on every minion (KUBEPLAY-SERVICES and KUBEPLAY-FILTER are in
the shared part). ``Ruleset.merged`` copies the tables it adds jumps to."""


def _render_service_port(
    builder: _RulesetBuilder,
    service: Service,
    port: ServicePort,
    portal: str,
    endpoints: tuple[Endpoint, ...],
    project: str,
) -> None:
    """Render one service port into ``builder``: the same on every minion."""
    name = _comment_prefix(project) + service_port_id(service, port)
    addresses = [(portal, _portal_comment(name, portal, service.selector))]
    addresses += [(ip, f"{name} public {ip}") for ip in service.public_ips]
    if not endpoints:
        for ip, comment in addresses:
            match = _destination_match(ip, port, comment + NO_ENDPOINTS)
            builder.rule_in(
                "filter", FILTER_CHAIN, f"-A {FILTER_CHAIN} {match} -j REJECT --reject-with icmp-port-unreachable"
            )
        return
    key = _chain_key(service, port)
    svc = chain_name("SVC", key)
    builder.declare("nat", svc)
    portal_match = _destination_match(portal, port, addresses[0][1])
    builder.rule_in("nat", SERVICES_CHAIN, f"-A {SERVICES_CHAIN} {portal_match} -j {svc}")
    for ip, comment in addresses[1:]:
        match = _destination_match(ip, port, comment)
        builder.rule_in("nat", SERVICES_CHAIN, f"-A {SERVICES_CHAIN} {match} -j {MARK_MASQ_CHAIN}")
        builder.rule_in("nat", SERVICES_CHAIN, f"-A {SERVICES_CHAIN} {match} -j {svc}")
    seps = _chain_names("SEP", [f"{key}:{e.ip}:{e.port}" for e in endpoints])  # (endpoint_chain's, str(e) spelt out)
    affinity = service.session_affinity == "ClientIP"
    _render_balancing(builder, svc, seps, affinity)
    _render_endpoints(builder.chains["nat"], seps, endpoints, affinity)


def _portal_comment(name: str, portal: str, selector: Mapping[str, str]) -> str:
    """``"<name> portal <IP> selector <k=v,...>"``; without the selector where it would make the comment (with
    " has no endpoints" after it) longer than iptables takes."""
    comment = f"{name} portal {portal}"
    with_selector = f"{comment} selector {format_selector(selector)}"
    fits = len((with_selector + NO_ENDPOINTS).encode()) <= MAX_COMMENT
    return with_selector if selector and fits else comment


def _destination_match(ip: str, port: ServicePort, comment: str) -> str:
    proto = port.protocol.lower()
    return f'-d {ip}/32 -p {proto} -m comment --comment "{comment}" -m {proto} --dport {port.port}'


def _render_balancing(builder: _RulesetBuilder, svc: str, seps: list[str], affinity: bool) -> None:
    rules = builder.chain("nat", svc)
    rules.append(f"-A {svc} -j {MASQ_OUTSIDE_CHAIN}")
    if affinity:
        rules += [
            f"-A {svc} -m recent --rcheck --seconds {AFFINITY_SECONDS} --reap"
            f" --name {sep} --mask 255.255.255.255 --rsource -j {sep}"
            for sep in seps
        ]
    last = len(seps) - 1
    rules += [
        f"-A {svc} -m statistic --mode random --probability {probability(len(seps) - index)} -j {sep}"
        for index, sep in enumerate(seps[:last])
    ]
    rules.append(f"-A {svc} -j {seps[last]}")


def _render_endpoints(
    nat: dict[str, list[str]], seps: Sequence[str], endpoints: Sequence[Endpoint], affinity: bool
) -> None:
    """Each endpoint's chain (``seps``, in order) in ``nat`` (a builder's table), with its DNAT rule appended (an
    endpoint listed twice, its chain gets it twice, as ``_RulesetBuilder.rule_in`` would append it)."""
    for sep, endpoint in zip(seps, endpoints, strict=True):
        remember = f" -m recent --set --name {sep} --mask 255.255.255.255 --rsource" if affinity else ""
        rule = (
            f"-A {sep} -p {endpoint.protocol.lower()}{remember} -j DNAT --to-destination {endpoint.ip}:{endpoint.port}"
        )
        rules = nat.get(sep)
        if rules is None:
            nat[sep] = [rule]
        else:
            rules.append(rule)


# --- parse ---------------------------------------------------------------------------------------------------


SAVE = ("iptables-save",)
"""The command whose output ``parse_save`` reads."""


def parse_save(text: str) -> Ruleset:
    """kubeplay's chains and the jump rules to them, from ``iptables-save`` output (SAVE) of any or all tables."""
    builder = _RulesetBuilder()
    table = chain = ""
    rules: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):  # saved with -c: "[packets:bytes] -A ..."
            line = re.sub(_COUNTERS, "", line)
        if line.startswith(_OWN_RULE):  # the bulk: a rule in one of kubeplay's chains, chain by chain
            end = line.find(" ", 3)
            name = line[3:end] if end > 0 else line[3:]
            if name != chain:
                chain, rules = name, builder.chain(table, name)
            rules.append(line)
        elif line.startswith("-A "):
            if _KUBEPLAY_TARGET.search(line) and comment_of(line).startswith(JUMP_COMMENT_PREFIX):
                builder.jump(table, line)
        elif line.startswith("*"):
            table, chain = line[1:], ""
        elif line == "COMMIT":
            table, chain = "", ""
        elif line.startswith(_DECLARED):
            builder.declare(table, line[1:].split()[0])
    return builder.build()


SHARED_LINES = tuple(
    f"{kind}{chain}{end}"
    for chain, end in (*((c, " ") for c in SHARED_CHAINS), *((k, "") for k in SHARED_KINDS))
    for kind in ("-A ", ":")
)
"""How the lines of iptables-save that are the shared chains' start (declarations and rules): ``split_save``."""
_SHARED_LINES = tuple(line.encode() for line in SHARED_LINES)


def split_save(saved: bytes) -> tuple[bytes, bytes]:
    """iptables-save output (SAVE) split in two: the lines of the shared chains (``shared_chain``; before the first
    of each table, its ``*table`` line), and every other line. Each line is kept byte for byte, ended by a newline,
    in its order: sync.py's program on the minion splits it alike (``SPLIT_SAVE``), and digests the shared lines."""
    lines = saved.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    own: list[bytes] = []
    shared: list[bytes] = []
    table, table_in_shared = b"", False
    for line in lines:
        if line.startswith(_SHARED_LINES):
            if not table_in_shared:
                shared.append(table)
                table_in_shared = True
            shared.append(line)
            continue
        if line.startswith(b"*"):
            table, table_in_shared = line, False
        own.append(line)
    return b"".join(line + b"\n" for line in own), b"".join(line + b"\n" for line in shared)


def parse_shared(text: str) -> Ruleset:
    """The shared part of minions' rules (see ``with_shared``) from the shared lines ``split_save`` found."""
    parsed = parse_save(text)
    return _shared_part(parsed.chains)


def _chain_of(rule: str) -> str:
    return rule.split(maxsplit=2)[1]


def comment_of(rule: str) -> str:
    """The text of a rule's ``--comment``, unquoted; empty if it has none."""
    if "--comment " not in rule:  # (most of a large ruleset: spares the search of every rule of every minion)
        return ""
    found = _COMMENT.search(rule)
    if not found:
        return ""
    quoted = found["quoted"]
    if quoted is not None:
        return re.sub(_ESCAPED, r"\1", quoted) if "\\" in quoted else quoted
    return found["bare"]


def observed_portals(ruleset: Ruleset) -> dict[str, str]:
    """Service name -> portal IP, from the comments of kubeplay's rules (see the module docstring)."""
    portals: dict[str, str] = {}
    for found in _portal_comments(ruleset):
        portals.setdefault(found["service"], found["ip"])
    return portals


def observed_projects(ruleset: Ruleset) -> dict[str, str]:
    """Service name -> its project, from the comments of kubeplay's portal rules (no project: ``default``)."""
    projects: dict[str, str] = {}
    for found in _portal_comments(ruleset):
        projects.setdefault(found["service"], found["project"] or DEFAULT_PROJECT)
    return projects


def _portal_comments(ruleset: Ruleset) -> Iterator[re.Match[str]]:
    """Every portal comment of the ruleset's rules, matched, in table and chain order: only the rules with a comment
    are looked at (a few of every minion's tens of thousands)."""
    for _table, rule in _all_rules(ruleset):
        if "--comment " in rule:
            found = _PORTAL_COMMENT.match(comment_of(rule))
            if found:
                yield found


@dataclass(frozen=True)
class SeenService:
    """A service as one minion's rules tell it: its portal rules' comments and matches."""

    name: str
    project: str
    ip: str
    ports: tuple[str, ...]
    """"6379/TCP", one per service port, in the rules' order."""
    selector: Mapping[str, str]
    """{} when the comments do not carry it (rules written before they did, or a selector too long for them)."""


def observed_services(ruleset: Ruleset) -> dict[str, SeenService]:
    """Service name -> what its portal rules say: project, portal IP, ports, selector."""
    seen: dict[str, SeenService] = {}
    for table, chain in (("nat", SERVICES_CHAIN), ("filter", FILTER_CHAIN)):
        for rule in ruleset.chains.get(table, {}).get(chain, ()):
            comment = comment_of(rule)
            found, port = _PORTAL_COMMENT.match(comment), re.search(_PORT_MATCH, rule)
            if not found or not port:
                continue
            name, ports = found["service"], f"{port['port']}/{port['protocol'].upper()}"
            before = seen.get(name)
            if before is None:
                project = found["project"] or DEFAULT_PROJECT
                selector = _comment_selector(comment)
                seen[name] = SeenService(name, project, found["ip"], (ports,), selector)
            elif ports not in before.ports:
                seen[name] = SeenService(name, before.project, before.ip, (*before.ports, ports), before.selector)
    return seen


def _comment_selector(comment: str) -> dict[str, str]:
    """The selector a portal comment carries; {} when it has none or it is no valid selector."""
    found = re.search(_PORTAL_SELECTOR, comment)
    pairs = [item.partition("=") for item in found["selector"].split(",")] if found else []
    if any(not eq or label_key_error(key) or label_value_error(value) for key, eq, value in pairs):
        return {}
    return {key: value for key, _, value in pairs}


def kept_services(ruleset: Ruleset, keep: Callable[[str, str], bool]) -> list[KeptService]:
    """The rules of every service in ``ruleset`` for which ``keep(project, name)`` holds, as read: its rules in
    KUBEPLAY-SERVICES and KUBEPLAY-FILTER (by comment) and the chains they lead to."""
    nat = ruleset.chains.get("nat", {})
    found: dict[str, dict[str, list[str]]] = {}
    projects: dict[str, str] = {}
    for table, chain in (("nat", SERVICES_CHAIN), ("filter", FILTER_CHAIN)):
        for rule in ruleset.chains.get(table, {}).get(chain, ()):
            owner = _SERVICE_COMMENT.match(comment_of(rule))
            if owner and keep(owner["project"] or DEFAULT_PROJECT, owner["service"]):
                projects[owner["service"]] = owner["project"] or DEFAULT_PROJECT
                found.setdefault(owner["service"], {}).setdefault(table, []).append(rule)
    kept = []
    for name, rules in sorted(found.items()):
        chains = _chains_reached(nat, rules.get("nat", ()))
        kept.append(
            KeptService(name, projects[name], tuple(rules.get("nat", ())), tuple(rules.get("filter", ())), chains)
        )
    return kept


def _chains_reached(nat: ChainRules, rules: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The service-port and endpoint chains ``rules`` jump to, directly or through each other."""
    reached: dict[str, tuple[str, ...]] = {}
    pending = list(rules)
    while pending:
        target = _KUBEPLAY_TARGET.search(pending.pop())
        chain = target["chain"] if target else ""
        if chain.startswith((f"{PREFIX}SVC-", f"{PREFIX}SEP-")) and chain not in reached and chain in nat:
            reached[chain] = nat[chain]
            pending.extend(nat[chain])
    return reached


def _all_rules(ruleset: Ruleset) -> Iterator[tuple[str, str]]:
    for table in sorted(ruleset.chains):
        for chain in sorted(ruleset.chains[table]):
            for rule in ruleset.chains[table][chain]:
                yield table, rule


# --- compare and write ---------------------------------------------------------------------------------------


def in_sync(observed: Ruleset, desired: Ruleset) -> bool:
    """True when the minion already has exactly the desired rules and jumps (in order): nothing to write."""
    return observed == desired


def diff(observed: Ruleset, desired: Ruleset) -> list[str]:
    """A unified diff from the observed to the desired rules, for ``--check``; empty when in sync."""
    import difflib  # (--check only: not loaded by a no-op)

    return list(
        difflib.unified_diff(
            _listing(observed), _listing(desired), fromfile="observed", tofile="desired", lineterm="", n=1
        )
    )


def _listing(ruleset: Ruleset) -> list[str]:
    lines: list[str] = []
    for table in ruleset.tables:
        lines.append(f"*{table}")
        jumps = ruleset.jumps.get(table, {})
        for chain in sorted(jumps):
            lines.extend(jumps[chain])
        chains = ruleset.chains.get(table, {})
        for chain in sorted(chains):
            lines.append(f":{chain}")
            lines.extend(chains[chain])
    return lines


def to_restore(desired: Ruleset, observed: Ruleset) -> str:
    """Input for ``iptables-restore --noflush`` turning ``observed`` into ``desired``; "" when in sync.

    Per table that differs: every desired and every stale kubeplay chain is declared (which creates or flushes
    it), the desired chains are written in full, kubeplay's jumps in a built-in chain are rewritten (deleted and
    inserted at the top in order) only where they differ, and stale chains are deleted. Nothing else is named,
    so Docker's and the user's rules stay as they are.

    iptables-restore commits table by table: a failure in a later table leaves the earlier ones written. The
    next run observes that and repairs it (duplicated jumps, for instance, differ from the desired ones).
    """
    sections = [
        _restore_table(table, _table_of(desired, table), _table_of(observed, table))
        for table in sorted(set(desired.tables) | set(observed.tables))
        if _table_of(desired, table) != _table_of(observed, table)
    ]
    return "".join(sections)


def _table_of(ruleset: Ruleset, table: str) -> tuple[ChainRules, ChainRules]:
    return ruleset.chains.get(table, {}), ruleset.jumps.get(table, {})


def _restore_table(table: str, desired: tuple[ChainRules, ChainRules], observed: tuple[ChainRules, ChainRules]) -> str:
    chains, jumps = desired
    old_chains, old_jumps = observed
    stale = sorted(set(old_chains) - set(chains))
    lines = [f"*{table}"]
    lines += [f":{chain} - [0:0]" for chain in sorted(chains) + stale]
    for chain in sorted(chains):
        lines.extend(chains[chain])
    for chain in sorted(set(jumps) | set(old_jumps)):
        lines.extend(_rewrite_jumps(chain, jumps.get(chain, ()), old_jumps.get(chain, ())))
    lines += [f"-X {chain}" for chain in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _rewrite_jumps(chain: str, wanted: Sequence[str], present: Sequence[str]) -> Iterable[str]:
    if tuple(wanted) == tuple(present):
        return []
    deletes = [f"-D {chain} {_rule_spec(rule)}" for rule in present]
    inserts = [f"-I {chain} {position} {_rule_spec(rule)}" for position, rule in enumerate(wanted, 1)]
    return deletes + inserts


def _rule_spec(rule: str) -> str:
    """A rule without its leading ``-A CHAIN``."""
    return rule.split(maxsplit=2)[2]
