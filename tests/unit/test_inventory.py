"""The inventory loader: Ansible INI and YAML inventories, variable precedence, --limit, and every bad input."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from kubeplay.errors import InventoryError
from kubeplay.inventory.declared import expand_host_pattern, split_port
from kubeplay.inventory.ini import literal_or_text, parse_value
from kubeplay.inventory.load import limit, load_inventory
from kubeplay.inventory.variables import parse_bool, parse_cpu_capacity, parse_labels, parse_memory_capacity
from kubeplay.inventory.yaml import read_yaml
from kubeplay.model import Inventory
from kubeplay.yamlnodes import InvalidDocument

DATA = Path(__file__).parent / "data" / "inventory"
BAD = Path(__file__).parents[1] / "bad" / "inventory"


# --- values and host patterns -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("22", 22),
        ("True", True),
        ("yes", "yes"),
        ("'quoted'", "quoted"),
        ('{"disk": "ssd"}', {"disk": "ssd"}),
        ("[1, 2]", [1, 2]),
        ("10.0.0.1", "10.0.0.1"),
        ("10.0.0.0/16", "10.0.0.0/16"),
        ("{disk: ssd}", "{disk: ssd}"),
        ("b'raw'", "b'raw'"),
        ("1j", "1j"),
    ],
)
def test_ini_values_are_read_as_python_literals_when_they_are_one(text: str, value: object) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("pattern", "names", "port"),
    [
        ("minion", ["minion"], None),
        ("minion:2222", ["minion"], 2222),
        ("web[1:3]", ["web1", "web2", "web3"], None),
        ("web[01:03].lab", ["web01.lab", "web02.lab", "web03.lab"], None),
        ("web[:2]", ["web0", "web1", "web2"], None),
        ("web[1:7:3]", ["web1", "web4", "web7"], None),
        ("db-[a:c]", ["db-a", "db-b", "db-c"], None),
        ("r[1:2]c[a:b]", ["r1ca", "r1cb", "r2ca", "r2cb"], None),
        ("web[1:2]:2200", ["web1", "web2"], 2200),
        ("fe80::1", ["fe80::1"], None),
        ("[::1]:2222", ["::1"], 2222),
    ],
)
def test_host_patterns_expand_like_ansible(pattern: str, names: list[str], port: int | None) -> None:
    assert expand_host_pattern(pattern) == (names, port)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("web[3:1]", "begin <= end"),
        ("web[01:100]", "equal-length"),
        ("web[1]", "begin:end"),
        ("web[1:]", "end value"),
        ("web[1:3", "closing ']'"),
        ("web[a:3]", "two numbers or two letters"),
        ("web[1:3:0]", "invalid step"),
        ("web:", "ends in ':'"),
    ],
)
def test_bad_host_ranges_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        expand_host_pattern(pattern)


def test_split_port_leaves_bare_ipv6_alone() -> None:
    assert split_port("2001:db8::1") == ("2001:db8::1", None)


# --- kubeplay's own variables -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "millicores"),
    [(2000, 2000), (0, 0), ("2", 2000), ("1.5", 1500), ("500m", 500), (" 250m ", 250)],
)
def test_cpu_is_millicores_or_a_cores_string(value: object, millicores: int) -> None:
    assert parse_cpu_capacity(value) == millicores


@pytest.mark.parametrize("value", [2, 1.5, True, "two", "2 cores", "-1", -100, None])
def test_cpu_rejects_ambiguous_or_invalid_values(value: object) -> None:
    with pytest.raises(ValueError):
        parse_cpu_capacity(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (8 * 2**30, 8 * 2**30),
        ("8Gi", 8 * 2**30),
        ("512Mi", 512 * 2**20),
        ("2G", 2 * 10**9),
        ("1.5Gi", 3 * 2**29),
        ("8192Ki", 8 * 2**20),
        ("6Mi", 6 * 2**20),
        ("100000000", 10**8),
        (0, 0),
    ],
)
def test_memory_is_bytes_or_a_quantity(value: object, size: int) -> None:
    assert parse_memory_capacity(value) == size


@pytest.mark.parametrize("value", [8, "8", "8GB", "8 Gi", "lots", True, -(2**30), 1.5, "4096Ki", 6 * 2**20 - 1])
def test_memory_rejects_missing_units_and_garbage(value: object) -> None:
    with pytest.raises(ValueError):
        parse_memory_capacity(value)


@pytest.mark.parametrize(
    ("value", "flag"),
    [(True, True), ("yes", True), ("True", True), ("on", True), (1, True), (False, False), ("no", False), ("0", False)],
)
def test_booleans_are_read_as_ansible_reads_them(value: object, flag: bool) -> None:
    assert parse_bool(value) is flag


@pytest.mark.parametrize(
    ("value", "labels"),
    [
        ({"disk": "ssd"}, {"disk": "ssd"}),
        ('{"disk": "ssd"}', {"disk": "ssd"}),
        ("{'disk': 'ssd'}", {"disk": "ssd"}),
        ({"example.com/zone": "a", "empty": ""}, {"example.com/zone": "a", "empty": ""}),
        ({}, {}),
    ],
)
def test_labels_are_a_mapping_or_its_json_text(value: object, labels: dict[str, str]) -> None:
    assert parse_labels(value) == labels


@pytest.mark.parametrize(
    "value",
    [{"-disk": "ssd"}, {"disk": "fast ssd"}, {"Example.com/zone": "a"}, {"disk": 1}, {"a" * 64: "x"}, "disk=ssd"],
)
def test_labels_follow_kubernetes_rules(value: object) -> None:
    with pytest.raises(ValueError):
        parse_labels(value)


# --- whole inventories --------------------------------------------------------------------------------------


def _summary(inventory: Inventory) -> list[tuple[object, ...]]:
    return [
        (
            m.name,
            m.host,
            m.port,
            m.user,
            m.key_file,
            m.connection,
            m.labels,
            m.cpu,
            m.memory,
            m.cordoned,
            m.allow_privileged,
        )
        for m in inventory.minions
    ]


@pytest.mark.parametrize("path", ["cluster-ini/hosts.ini", "cluster-yaml/inventory.yml"])
def test_ini_and_yaml_describe_the_same_cluster(path: str) -> None:
    inventory = load_inventory(str(DATA / path))
    folder = (DATA / path).parent
    key = str(folder / "keys" / "lab_ed25519")
    ssd = {"disk": "ssd", "example.com/zone": "b"}
    gib4 = 4 * 2**30
    assert sorted(_summary(inventory)) == [
        ("laptop", "laptop", 22, "", "", "local", {}, 0, 0, False, False),
        ("minion-1", "192.168.56.11", 22, "core", key, "ssh", {}, 2000, gib4, True, True),
        ("minion-2", "minion-2", 22, "core", key, "ssh", {}, 2000, gib4, False, True),
        ("minion-3", "192.168.56.13", 2222, "", key, "ssh", ssd, 2000, gib4, False, True),
    ]
    assert inventory.groups["ssd"] == inventory.groups["minions"] == ("minion-1", "minion-2", "minion-3")
    assert inventory.groups["workstation"] == ("laptop",)
    assert inventory.groups["ungrouped"] == ()
    assert set(inventory.groups["all"]) == {"laptop", "minion-1", "minion-2", "minion-3"}
    assert inventory.portal_net == "10.244.0.0/16"
    assert inventory.pod_network is False
    assert inventory.known_hosts == str(folder / "known_hosts")
    assert inventory.infra_image == "registry.local/pause:1"
    assert inventory.source == str(DATA / path)


def test_defaults_apply_when_the_inventory_sets_nothing(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("lonely\n")
    inventory = load_inventory(str(tmp_path / "hosts"))
    assert inventory.minion("lonely").host == "lonely"
    assert inventory.minion("lonely").port == 22
    assert (inventory.portal_net, inventory.pod_network, inventory.known_hosts, inventory.infra_image) == (
        "10.0.0.0/16",
        True,
        "",
        "",
    )
    assert inventory.groups == {"all": ("lonely",), "ungrouped": ("lonely",)}


PRECEDENCE = DATA / "precedence" / "hosts"


@pytest.mark.parametrize(
    ("host", "variable", "winner"),
    [
        ("solo", "inv", "all"),  # only the all group sets it
        ("p1", "inv", "parent"),  # a group beats all
        ("c1", "inv", "child"),  # a child group beats its parent
        ("c2", "inv", "c2-host"),  # host vars beat every group
        ("ab1", "inv", "beta"),  # same depth: alphabetical, the later wins
        ("pr1", "inv", "early"),  # ansible_group_priority beats the alphabet
        ("solo", "filevar", "gv-all"),  # group_vars/all beats the inventory's [all:vars]
        ("c1", "filevar", "gv-parent"),  # a parent's group_vars file beats a child's inventory vars
        ("c2", "filevar", "hv-c2"),  # host_vars files beat everything in the inventory
        ("p1", "filevar", "hv-p1-json"),  # host_vars/NAME without a suffix, holding JSON
        ("c1", "filevar2", "gv-child-a"),  # group_vars/NAME/ folder
        ("c2", "filevar2", "c2-host"),  # inventory host vars beat group_vars files
        ("c1", "fromdir", "b"),  # files in a group_vars folder load sorted; notes.txt is not read
    ],
)
def test_variables_merge_with_ansible_precedence(host: str, variable: str, winner: str) -> None:
    assert load_inventory(str(PRECEDENCE)).minion(host).vars[variable] == winner


def test_extra_vars_beat_everything_and_are_checked() -> None:
    inventory = load_inventory(str(PRECEDENCE), {"inv": "extra", "kubeplay_portal_net": "10.9.0.0/16"})
    assert {m.vars["inv"] for m in inventory.minions} == {"extra"}
    assert inventory.portal_net == "10.9.0.0/16"
    assert inventory.vars["kubeplay_portal_net"] == "10.9.0.0/16"
    with pytest.raises(InventoryError, match="<extra vars>: extra vars: kubeplay_cpu: must be millicores"):
        load_inventory(str(PRECEDENCE), {"kubeplay_cpu": "many"})


def test_minion_vars_include_the_merged_vars_and_ansible_magic_names() -> None:
    c1 = load_inventory(str(PRECEDENCE)).minion("c1")
    assert c1.vars["inventory_hostname"] == "c1"
    assert c1.vars["group_names"] == ["child", "parent"]


def test_groups_resolve_children_and_ungrouped() -> None:
    groups = load_inventory(str(PRECEDENCE)).groups
    assert groups["parent"] == ("p1", "c1", "c2")
    assert groups["child"] == ("c1", "c2")
    assert groups["ungrouped"] == ("solo",)
    assert groups["all"] == ("solo", "p1", "c1", "c2", "ab1", "pr1")


def test_a_folder_loads_every_inventory_in_it_sorted_like_ansible() -> None:
    inventory = load_inventory(str(DATA / "folder"))
    assert [m.name for m in inventory.minions] == ["m1", "m2", "m3", "x1"]
    assert inventory.minion("m3").port == 2200
    assert inventory.minion("x1").host == "10.9.9.9"
    assert inventory.groups["minions"] == ("m1", "m2", "m3")
    assert {m.name: m.labels for m in inventory.minions} == {
        "m1": {"role": "worker"},
        "m2": {"role": "worker"},
        "m3": {"role": "worker"},
        "x1": {},
    }
    assert "ignored" not in inventory.groups  # skipped.ini, README.md and .hidden/ are not inventories


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("keys/id", "{folder}/keys/id"),
        ("../id", "{parent}/id"),
        ("{folder}/abs/id", "{folder}/abs/id"),
        ("~/.ssh/id", "{home}/.ssh/id"),
    ],
)
def test_key_files_resolve_against_the_inventory_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    folder = tmp_path / "inventory"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = Path(expected.format(folder=folder, parent=tmp_path, home=tmp_path / "home"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("key")
    folder.mkdir(exist_ok=True)
    (folder / "hosts").write_text(f"m1 ansible_ssh_private_key_file={written.format(folder=folder)}\n")
    assert load_inventory(str(folder / "hosts")).minion("m1").key_file == str(path)


@pytest.mark.parametrize(("connection", "expected"), [("ssh", "ssh"), ("paramiko", "ssh"), ("smart", "ssh")])
def test_ssh_flavoured_connections_are_ssh(tmp_path: Path, connection: str, expected: str) -> None:
    (tmp_path / "hosts").write_text(f"m1 ansible_connection={connection}\n")
    assert load_inventory(str(tmp_path / "hosts")).minion("m1").connection == expected


def test_old_ansible_ssh_aliases_are_honoured(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("m1 ansible_ssh_host=10.1.1.1 ansible_ssh_port=2022 ansible_ssh_user=ops\n")
    m1 = load_inventory(str(tmp_path / "hosts")).minion("m1")
    assert (m1.host, m1.port, m1.user) == ("10.1.1.1", 2022, "ops")


def test_an_extensionless_yaml_file_is_read_as_yaml(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("all:\n  hosts:\n    m1:\n      ansible_port: 2201\n")
    assert load_inventory(str(tmp_path / "hosts")).minion("m1").port == 2201


def test_an_extensionless_ini_file_that_is_also_valid_yaml_is_read_as_ini(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("m1 note='time: 10'\n")  # YAML reads {"m1 note='time": "10'"}
    assert load_inventory(str(tmp_path / "hosts")).minion("m1").vars["note"] == "time: 10"


GROUP_HEADED = [
    "[minions]\nm1 ansible_host=10.1.1.1 registry=10.1.1.1:5000\n",
    "# written by hand\n\n[web:children]\nminions\n\n[minions]\nm1 note='time: 10'\n",
    "[minions]\r\nm1 registry=10.1.1.1:5000\r\n",
]


@pytest.mark.parametrize("text", GROUP_HEADED)
def test_an_extensionless_file_that_starts_with_a_group_header_is_ini_and_no_yaml_mapping(
    tmp_path: Path, text: str
) -> None:
    (tmp_path / "hosts").write_text(text, newline="")
    assert [m.name for m in load_inventory(str(tmp_path / "hosts")).minions] == ["m1"]
    with contextlib.suppress(InvalidDocument):  # (so it is read as INI without asking PyYAML)
        assert not isinstance(getattr(read_yaml(text), "value", None), dict)


def test_a_missing_inventory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="nope: no such inventory file or folder"):
        load_inventory(str(tmp_path / "nope"))


def test_a_folder_of_only_skipped_files_says_which_were_skipped(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("m1\n")
    with pytest.raises(InventoryError, match=r"no hosts \(as Ansible does, .*hosts\.ini"):
        load_inventory(str(tmp_path))


def test_problems_carry_file_line_object_and_field() -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(str(BAD / "every_problem_reported.ini"))
    located = [(Path(p.file).name, p.line, p.object, p.field) for p in caught.value.problems]
    assert located == [
        ("every_problem_reported.ini", 2, "host m1", "ansible_port"),
        ("every_problem_reported.ini", 2, "host m1", "kubeplay_cpu"),
        ("every_problem_reported.ini", 3, "host m2", "kubeplay_cordoned"),
        ("every_problem_reported.ini", 5, "group web", "kubeplay_memory"),
    ]


# --- --limit ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "chosen"),
    [
        ("all", ["solo", "p1", "c1", "c2", "ab1", "pr1"]),
        ("*", ["solo", "p1", "c1", "c2", "ab1", "pr1"]),
        ("c1", ["c1"]),
        ("child", ["c1", "c2"]),
        ("parent", ["p1", "c1", "c2"]),
        ("child:solo", ["solo", "c1", "c2"]),
        ("child,solo", ["solo", "c1", "c2"]),
        ("parent:!child", ["p1"]),
        ("!child", ["solo", "p1", "ab1", "pr1"]),
        ("parent:&child", ["c1", "c2"]),
        ("parent,&child,!c2", ["c1"]),
        ("!c2:parent", ["p1", "c1"]),  # unions first, whatever the order written
        ("c*", ["c1", "c2"]),  # hosts and the group "child"
        ("?1", ["p1", "c1"]),
        ("~[cp]\\d", ["p1", "c1", "c2"]),
        ("~ab", ["ab1"]),
        ("parent[0]", ["p1"]),
        ("parent[-1]", ["c2"]),
        ("parent[1:2]", ["c1", "c2"]),
        ("alpha:beta", ["ab1"]),
    ],
)
def test_limit_follows_ansible_patterns(pattern: str, chosen: list[str]) -> None:
    narrowed = limit(load_inventory(str(PRECEDENCE)), pattern)
    assert [m.name for m in narrowed.minions] == chosen
    assert narrowed.groups["all"] == tuple(chosen)


def test_limit_narrows_groups_and_keeps_the_rest() -> None:
    inventory = load_inventory(str(PRECEDENCE))
    narrowed = limit(inventory, "c1")
    assert narrowed.groups["parent"] == ("c1",)
    assert narrowed.groups["alpha"] == ()
    assert narrowed.vars == inventory.vars
    assert narrowed.portal_net == inventory.portal_net


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("chld", "'chld' matches no host or group; did you mean child?"),
        ("child:&alpha", "'child:&alpha' selects no minions"),
        ("child:!typo", "'typo' matches no host or group"),
        ("~(", "'~(' is not a valid regular expression"),
        ("web[0", "'web[0' has unbalanced brackets"),
        ("nope*", "'nope*' matches no host or group"),
    ],
)
def test_limit_matching_nothing_is_an_error(pattern: str, message: str) -> None:
    inventory = load_inventory(str(PRECEDENCE))
    with pytest.raises(InventoryError, match=re.escape(message)):
        limit(inventory, pattern)


@pytest.mark.parametrize(
    "text",
    [
        *("True", "False", "None", "Ellipsis", "__debug__", "if", "lambda", "match", "_", "ubuntu", "inf", "nan"),
        *("j", "b", "1j", "0x1f", "1e5", "1_000", "1.5", "1.2.3", "1.2.3.4", "01.2.3", "1_0.2.3", "10.0.0.1 ", "1..2"),
    ],
)
def test_a_value_is_the_literal_python_reads_or_the_text(text: str) -> None:
    value = parse_value(text)
    assert (type(value), value) == (type(literal_or_text(text)), literal_or_text(text))


def test_an_ipv4_address_is_an_address_as_ipaddress_reads_it() -> None:
    """host_address_error tells dotted quads apart itself: what it accepts so, ipaddress accepts."""
    import ipaddress
    import random

    from kubeplay.names import _IPV4, host_address_error

    numbers = [*map(str, range(300)), "00", "01", "010", "0255", "1000", "-1", "+1", " 1", "\u0661"]
    rng = random.Random(13)
    for _ in range(20_000):
        host = ".".join(rng.choice(numbers) for _ in range(rng.choice([3, 4, 4, 5])))
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            assert not _IPV4.fullmatch(host), host
        else:
            assert _IPV4.fullmatch(host) and host_address_error(host) is None, host
