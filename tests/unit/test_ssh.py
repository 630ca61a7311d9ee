"""SSH as OpenSSH users expect: known_hosts markers and hashed names, ~/.ssh/config read with its lines, ProxyJump
routes, and the host-key verdicts turned into kubeplay's own errors (test keys made with paramiko's key classes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest

from kubeplay.connectors import ssh
from kubeplay.connectors.knownhosts import (
    KnownHosts,
    fingerprint,
    host_key_name,
    parse_known_hosts,
    read_known_hosts,
)
from kubeplay.connectors.ssh import SSHOptions, _HostKeyPolicy, _transport_factory, ssh_options
from kubeplay.connectors.sshconfig import Endpoint, Jump, SSHConfigError, parse_ssh_config, resolve
from kubeplay.errors import (
    ConnectionFailed,
    HostKeyChanged,
    HostKeyRevoked,
    InputError,
    InventoryError,
    UntrustedHostKey,
)
from kubeplay.inventory import load_inventory
from kubeplay.model import Minion


@pytest.fixture(scope="module")
def keys() -> tuple[paramiko.PKey, paramiko.PKey]:
    return paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()


def line(hosts: str, key: paramiko.PKey, marker: str = "") -> str:
    return f"{marker} {hosts} {key.get_name()} {key.get_base64()}".strip()


def hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def known(text: str, file: str = "kh") -> KnownHosts:
    entries, warnings = parse_known_hosts(text, file)
    return KnownHosts(tuple(entries), tuple(warnings))


# --- known_hosts ---------------------------------------------------------------------------------------------


def test_the_fingerprint_is_openssh_sha256_base64_as_paramiko_prints_it(keys: tuple[paramiko.PKey, ...]) -> None:
    assert fingerprint(keys[0].asbytes()) == keys[0].fingerprint
    assert "=" not in fingerprint(keys[0].asbytes())


@pytest.mark.parametrize(("host", "port", "name"), [("m1", 22, "m1"), ("m1", 2222, "[m1]:2222"), ("::1", 5, "[::1]:5")])
def test_hosts_on_other_ports_are_listed_in_brackets(host: str, port: int, name: str) -> None:
    assert host_key_name(host, port) == name


@pytest.mark.parametrize(
    ("hosts", "host", "port", "applies"),
    [
        ("m1,10.0.0.1", "10.0.0.1", 22, True),
        ("M1", "m1", 22, True),
        ("m1", "m1", 2222, False),
        ("[m1]:2222", "m1", 2222, True),
        ("[::1]:2222", "::1", 2222, True),
        ("*.lab", "m1.lab", 22, True),
        ("m?", "m1", 22, True),
        ("m?", "m12", 22, False),
        ("*.lab,!bad.lab", "bad.lab", 22, False),
        (hashed("m1"), "m1", 22, True),
        (hashed("[m1]:2222"), "m1", 2222, True),
        (hashed("m1"), "m2", 22, False),
        ("|1|not-base64|x", "m1", 22, False),
    ],
)
def test_host_patterns_wildcards_negation_and_hashed_names(
    keys: tuple[paramiko.PKey, ...], hosts: str, host: str, port: int, applies: bool
) -> None:
    table = known(line(hosts, keys[0]))
    assert table.check(host, port, keys[0].get_name(), keys[0].asbytes()).verdict == ("known" if applies else "unknown")


def test_a_different_key_of_the_same_type_is_a_changed_key_with_the_line_holding_the_old_one(
    keys: tuple[paramiko.PKey, ...],
) -> None:
    table = known(f"# comment\n\n{line('other', keys[1])}\n{line('m1', keys[0])}\n")
    check = table.check("m1", 22, keys[1].get_name(), keys[1].asbytes())
    assert check.verdict == "changed"
    assert check.entry is not None and check.entry.where == "kh:4" and check.entry.key == keys[0].asbytes()


def test_a_revoked_key_is_refused_even_when_another_line_trusts_it(keys: tuple[paramiko.PKey, ...]) -> None:
    table = known(f"{line('m1', keys[0])}\n{line('*', keys[0], '@revoked')}\n")
    check = table.check("m1", 22, keys[0].get_name(), keys[0].asbytes())
    assert check.verdict == "revoked" and check.entry is not None and check.entry.line == 2
    assert table.key_types("m1", 22) == [keys[0].get_name()]


def test_cert_authority_lines_are_skipped_with_one_warning_per_file(keys: tuple[paramiko.PKey, ...]) -> None:
    text = "\n".join(
        [line("*.lab", keys[0], "@cert-authority"), line("m1", keys[1]), line("*", keys[0], "@cert-authority")]
    )
    table = known(text)
    assert [e.line for e in table.entries] == [2]
    assert len(table.warnings) == 1 and "lines 1, 3" not in table.warnings[0] and "1, 3" in table.warnings[0]
    assert table.check("m1.lab", 22, keys[0].get_name(), keys[0].asbytes()).verdict == "unknown"


def test_malformed_lines_and_unknown_markers_are_ignored_as_openssh_does(keys: tuple[paramiko.PKey, ...]) -> None:
    table = known(f"m1\nm1 ssh-ed25519 !!!notbase64\n@weird m1 x AAAA\n{line('m1', keys[0])}\n")
    assert [e.line for e in table.entries] == [4]


def test_known_hosts_files_are_read_in_order_and_missing_ones_skipped(
    tmp_path: Path, keys: tuple[paramiko.PKey, ...]
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text(line("m1", keys[0]) + "\n")
    second.write_text(line("m2", keys[1]) + "\n")
    table = read_known_hosts([str(tmp_path / "missing"), str(first), str(second), str(tmp_path)])
    assert [(e.file, e.hosts) for e in table.entries] == [(str(first), "m1"), (str(second), "m2")]
    assert table.warnings == (f"{tmp_path}: skipped: not a regular file",)


# --- the verdicts as kubeplay's errors ----------------------------------------------------------------------


def policy(text: str, host: str = "10.0.0.1", port: int = 22, *, accept: bool = False) -> _HostKeyPolicy:
    options = SSHOptions(accept_new_host_keys=accept, known=known(text, "/home/u/.ssh/known_hosts"))
    return _HostKeyPolicy("m1", resolve(options.config, host, Jump(host, "", port)), options)


def test_a_changed_key_names_both_fingerprints_and_the_line_to_fix(keys: tuple[paramiko.PKey, ...]) -> None:
    old, new = keys
    with pytest.raises(HostKeyChanged) as caught:
        policy(line("[10.0.0.1]:2201", old), port=2201).missing_host_key(paramiko.SSHClient(), "x", new)
    message = str(caught.value)
    assert caught.value.minion == "m1" and isinstance(caught.value, UntrustedHostKey)
    assert fingerprint(old.asbytes()) in message and fingerprint(new.asbytes()) in message
    assert "/home/u/.ssh/known_hosts:1" in message and "ssh-keygen -R '[10.0.0.1]:2201'" in message


def test_a_revoked_key_is_its_own_error(keys: tuple[paramiko.PKey, ...]) -> None:
    with pytest.raises(HostKeyRevoked, match="REVOKED"):
        policy(line("*", keys[0], "@revoked"), accept=True).missing_host_key(paramiko.SSHClient(), "x", keys[0])


def test_an_unknown_key_is_refused_unless_new_keys_are_accepted(
    keys: tuple[paramiko.PKey, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConnectionFailed, match="not found in known_hosts") as caught:
        policy("").missing_host_key(paramiko.SSHClient(), "x", keys[0])
    assert not isinstance(caught.value, UntrustedHostKey)
    monkeypatch.setenv("HOME", str(tmp_path))
    policy("", port=2201, accept=True).missing_host_key(paramiko.SSHClient(), "x", keys[0])
    saved = (tmp_path / ".ssh" / "known_hosts").read_text()
    assert saved == f"[10.0.0.1]:2201 {keys[0].get_name()} {keys[0].get_base64()}\n"


def test_a_known_key_passes(keys: tuple[paramiko.PKey, ...]) -> None:
    policy(line("10.0.0.1", keys[0])).missing_host_key(paramiko.SSHClient(), "x", keys[0])


def test_the_server_is_asked_first_for_the_key_type_known_hosts_holds() -> None:
    transport = _transport_factory(["ssh-rsa"])(_Sock())
    assert list(transport.get_security_options().key_types)[:2] == ["rsa-sha2-512", "rsa-sha2-256"]
    transport.close()


class _Sock:
    """Enough of a socket for a Transport that is never started."""

    def settimeout(self, timeout: float | None) -> None:
        pass

    def close(self) -> None:
        pass

    _closed = True


# --- ~/.ssh/config -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line_number", "message"),
    [
        ("Host m1\n  Port abc\n", 2, "Port 'abc' is not a port number"),
        ("Port 70000\n", 1, "not a port number"),
        ("Host m1\n\n  ProxyCommand nc %h %z\n", 3, "unknown token %z"),
        ("ProxyCommand nc 'unclosed\n", 1, "cannot be split"),
        ("Host m1\n  ProxyJump -oProxyCommand=x\n", 2, "ProxyJump host '-oProxyCommand=x'"),
        ("ProxyJump user@host:port\n", 1, "Port 'port'"),
        ("ProxyJump a;b\n", 1, "ProxyJump host 'a;b'"),
        ("User -x\n", 1, "User '-x'"),
        ("Host\n", 1, "expected 'Keyword value'"),
        ("Include /nonexistent/file /dev/zero\n", 1, "/dev/zero is not a regular file"),
    ],
)
def test_config_errors_name_the_line(text: str, line_number: int, message: str) -> None:
    with pytest.raises(SSHConfigError) as caught:
        parse_ssh_config(text, "/home/u/.ssh/config")
    assert (caught.value.file, caught.value.line) == ("/home/u/.ssh/config", line_number)
    assert message in str(caught.value)


def test_config_first_value_wins_and_inventory_values_win_over_it() -> None:
    config = parse_ssh_config(
        "Host m1\n  HostName 10.0.0.1\n  Port 2200\n  User deploy\n  IdentityFile ~/.ssh/%r_key\n"
        "Host *\n  Port 22\n  User root\n  IdentityFile ~/.ssh/id\n",
        "cfg",
    )
    found = resolve(config, "m1", Jump("m1"))
    home = os.path.expanduser("~")
    assert (found.host, found.port, found.user) == ("10.0.0.1", 2200, "deploy")
    assert found.key_files == (f"{home}/.ssh/deploy_key", f"{home}/.ssh/id")
    mine = resolve(config, "m1", Jump("m1", "admin", 2222), ("/k",))
    assert (mine.port, mine.user, mine.key_files) == (2222, "admin", ("/k",))


def test_proxycommand_none_and_proxyjump_none_switch_the_proxy_off() -> None:
    config = parse_ssh_config(
        "Host direct\n  ProxyCommand none\nHost nojump\n  ProxyJump none\nHost *\n  ProxyJump b\n", "c"
    )
    assert resolve(config, "direct", Jump("direct")).via is None
    assert resolve(config, "nojump", Jump("nojump")).via is None
    other = resolve(config, "x", Jump("x")).via
    assert other is not None and other.name == "b" and other.via is None, "Host * does not make b jump through b"


def test_proxycommand_words_get_checked_values_and_no_shell() -> None:
    config = parse_ssh_config("Host m1\n  HostName 10.0.0.1\n  ProxyCommand ssh -W '%h:%p' -l %r bastion %%\n", "c")
    found = resolve(config, "m1", Jump("m1", "deploy", 2222))
    assert found.command == ("ssh", "-W", "10.0.0.1:2222", "-l", "deploy", "bastion", "%")
    assert found.command_at == "c:3"


def test_proxyjump_chains_each_hop_with_its_own_config() -> None:
    config = parse_ssh_config(
        "Host target\n  HostName 10.0.0.9\n  ProxyJump j1,admin@j2:2200\n"
        "Host j1\n  HostName 10.0.0.1\n  User hop\nHost j2\n  HostName 10.0.0.2\n  ProxyJump nowhere\n",
        "c",
    )
    target = resolve(config, "target", Jump("target"))
    second = target.via
    assert second is not None and (second.host, second.port, second.user) == ("10.0.0.2", 2200, "admin")
    first = second.via
    assert first is not None and (first.host, first.port, first.user, first.via) == ("10.0.0.1", 22, "hop", None)


def test_ssh_scheme_and_ipv6_jump_hosts() -> None:
    config = parse_ssh_config("ProxyJump ssh://u@[::1]:2201\n", "c")
    via = resolve(config, "m", Jump("m")).via
    assert via is not None and (via.host, via.port, via.user) == ("::1", 2201, "u")


def test_match_blocks_kubeplay_cannot_evaluate_are_skipped_with_a_warning() -> None:
    config = parse_ssh_config('Match exec "true"\n  Port 2\nMatch host m*\n  Port 3\nMatch all\n  User x\n', "c")
    assert len(config.warnings) == 1 and "c:1" in config.warnings[0]
    found = resolve(config, "m1", Jump("m1"))
    assert (found.port, found.user) == (3, "x")


def test_include_reads_files_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "lab").write_text("Host m1\n  Port abc\n")
    with pytest.raises(SSHConfigError) as caught:
        parse_ssh_config("Include conf.d/*\n", str(tmp_path / "config"))
    assert caught.value.file == str(tmp_path / "conf.d" / "lab") and caught.value.line == 2


def test_a_config_hostname_that_is_no_address_is_an_error() -> None:
    config = parse_ssh_config("Host m1\n  HostName %h.lab;x\n", "c")
    with pytest.raises(SSHConfigError, match=re.escape("c:2: HostName 'm1.lab;x'")):
        resolve(config, "m1", Jump("m1"))


# --- everything checked once, before connecting --------------------------------------------------------------


def test_problems_in_ssh_config_stop_the_run_before_connecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    config = tmp_path / ".ssh" / "config"
    config.write_text("Host m1\n  ProxyCommand /nonexistent/proxy %h %p\nHost m2\n  ProxyJump m1\n")
    minions = [Minion("m1", "m1"), Minion("m2", "m2"), Minion("local", "local", connection="local")]
    with pytest.raises(InputError) as caught:
        ssh_options(minions, (), False, 5)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 2, "m2 jumps through m1, whose proxy program is missing too"
    assert all(f"{config}:2" in p and "'/nonexistent/proxy' not found" in p for p in problems)
    config.write_text("Port abc\n")
    with pytest.raises(InputError, match=re.escape(f"{config}:1: Port 'abc'")):
        ssh_options(minions, (), False, 5)


def test_warnings_of_the_files_read_are_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    extra = tmp_path / "kh"
    extra.write_text(f"@cert-authority * {paramiko.ECDSAKey.generate().get_name()} AAAA\n")
    options, warnings = ssh_options([Minion("m1", "10.0.0.1")], (str(extra),), False, 5)
    assert options.endpoint(Minion("m1", "10.0.0.1", port=2201)).port == 2201
    assert any("@cert-authority" in w and str(extra) in w for w in warnings)


# --- the hostile corpus: tests/bad/ssh/ -----------------------------------------------------------------------

BAD = Path(__file__).parents[1] / "bad" / "ssh"


def _bad(suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(path for path in BAD.iterdir() if path.suffix in suffixes)


def _expected(case: Path) -> list[str]:
    expected = case.with_suffix(".expected").read_text().splitlines()
    assert expected, f"{case.name} needs a .expected file with the text its message must contain"
    return expected


@pytest.mark.parametrize("case", _bad((".ssh_config",)), ids=lambda path: path.name)
def test_bad_ssh_configs_are_errors_with_file_and_line(case: Path) -> None:
    with pytest.raises(SSHConfigError) as caught:
        resolve(parse_ssh_config(case.read_text(), str(case)), "m1", Jump("m1"))
    for text in _expected(case):
        assert text in str(caught.value)


@pytest.mark.parametrize("case", _bad((".known_hosts",)), ids=lambda path: path.name)
def test_bad_known_hosts_never_raise_and_say_what_they_skipped(case: Path) -> None:
    table = read_known_hosts([str(case)])
    revoked = sum(1 for e in table.entries if e.revoked)
    summary = f"usable entries: {len(table.entries)}" + (f" ({revoked} revoked)" if revoked else "")
    for text in _expected(case):
        assert text in "\n".join([*table.warnings, summary])


@pytest.mark.parametrize("case", _bad((".ini", ".yml")), ids=lambda path: path.name)
def test_bad_connection_values_in_inventories_are_located(case: Path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory(str(case))
    for text in _expected(case):
        assert text in str(caught.value)


def test_the_corpus_covers_every_kind() -> None:
    assert len(_bad((".ssh_config",))) >= 15 and len(_bad((".known_hosts",))) >= 4
    assert len(_bad((".ini", ".yml"))) >= 8


# --- IPv6 and addresses in the inventory ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "host", "port"),
    [
        ("[::1]:2222\n", "::1", "::1", 2222),
        ("[web]\n[2001:db8::7]\n", "2001:db8::7", "2001:db8::7", 22),
        (
            "[web]\n[2001:db8::7]:2200 ansible_user=deploy # comment\n[web:vars]\nkubeplay_cpu=2000\n",
            "2001:db8::7",
            "2001:db8::7",
            2200,
        ),
        ("fe80::1%eth0\n", "fe80::1%eth0", "fe80::1%eth0", 22),
        ("m1 ansible_host=[::1]\n", "m1", "::1", 22),
        ("m1 ansible_host=::1 ansible_port=2201\n", "m1", "::1", 2201),
        ("m1 ansible_host=m1.lab.example\n", "m1", "m1.lab.example", 22),
    ],
)
def test_ipv6_hosts_in_ini_inventories(tmp_path: Path, text: str, name: str, host: str, port: int) -> None:
    (tmp_path / "hosts.ini").write_text(text)
    minion = load_inventory(str(tmp_path / "hosts.ini")).minion(name)
    assert (minion.host, minion.port) == (host, port)


def test_ipv6_hosts_in_yaml_inventories(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        'all:\n  hosts:\n    "[::1]:2222":\n    m2:\n      ansible_host: "[2001:db8::2]"\n'
    )
    inventory = load_inventory(str(tmp_path / "hosts.yml"))
    assert [(m.name, m.host, m.port) for m in inventory.minions] == [("::1", "::1", 2222), ("m2", "2001:db8::2", 22)]


def test_an_ipv6_minion_is_connected_to_under_its_bracketed_known_hosts_name(keys: tuple[paramiko.PKey, ...]) -> None:
    options = SSHOptions(known=known(line("[::1]:2222", keys[0])))
    endpoint = options.endpoint(Minion("::1", "::1", port=2222))
    assert (endpoint.host, endpoint.port) == ("::1", 2222)
    assert options.known.check("::1", 2222, keys[0].get_name(), keys[0].asbytes()).verdict == "known"


def test_a_local_minion_needs_no_address_nor_key(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text('all:\n  hosts:\n    "my laptop":\n      ansible_connection: local\n')
    assert load_inventory(str(tmp_path / "hosts.yml")).minion("my laptop").connection == "local"


def test_the_ssh_connector_loads_paramiko_without_invoke_which_stays_importable() -> None:
    pytest.importorskip("invoke")
    script = (
        "import sys\n"
        "from kubeplay.connectors import ssh\n"
        "print('paramiko' in sys.modules, 'invoke' in sys.modules)\n"
        "import invoke\n"
        "print(invoke.__name__)\n"
    )
    root = Path(__file__).parents[2]  # this checkout's kubeplay
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )
    assert run.stdout.split() == ["True", "False", "invoke"], run.stdout + run.stderr


class _EndedTransport:
    """A jump host's transport that its server closed: paramiko raises the exception that ended it."""

    def open_channel(self, *args: object, **kwargs: object) -> None:
        raise EOFError()


class _JumpClient:
    closed = False

    def get_transport(self) -> _EndedTransport:
        return _EndedTransport()

    def close(self) -> None:
        self.closed = True


def test_a_jump_host_that_closes_the_connection_is_a_connection_failure_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jump_client = _JumpClient()
    monkeypatch.setattr(ssh, "_open", lambda *args, **kwargs: jump_client)
    jump = Endpoint("bastion", "10.77.0.11", 22, "root")
    target = Endpoint("web", "10.77.0.12", 22, "root", via=jump)
    with pytest.raises(ConnectionFailed) as caught:
        ssh._carrier("web", target, SSHOptions())
    assert "jump host bastion" in str(caught.value) and "cannot reach 10.77.0.12" in str(caught.value)
    assert jump_client.closed


class _LostChannel:
    """A direct-tcpip channel whose jump host's connection is gone: paramiko's write of its close raises EOFError."""

    def close(self) -> None:
        raise EOFError()


def test_closing_a_carrier_whose_jump_connection_is_lost_closes_the_jump_client_and_raises_nothing() -> None:
    jump_client = _JumpClient()
    carrier = ssh._Carrier(_LostChannel(), ("10.77.0.12", 22), jump_client.close)
    carrier.close()  # (as paramiko's Transport.close does, after a refused host key)
    assert jump_client.closed


ACCEPTED_HOSTS = ["10.77.1.11", "minion-1", "node.example.com", "trail.", "", "::1", "fe80::1%eth0", "b." + "a" * 63]
REFUSED_OR_NOT_ASCII = ["a" * 64, "b." + "a" * 64, "a" * 64 + ".b", "a..b", ".lead", "bücher.example"]


@pytest.mark.parametrize("host", [*ACCEPTED_HOSTS, *REFUSED_OR_NOT_ASCII, "a" * 63 + ".b", "xn--bcher-kva.example"])
def test_hosts_are_resolved_as_the_idna_codec_would_encode_them_without_loading_it(host: str) -> None:
    try:
        encoded: bytes | None = host.encode("idna")
    except UnicodeError:
        encoded = None
    resolved = ssh.resolver_host(host)
    if encoded is None or not host.isascii():  # (the codec refuses it, or it is not ASCII: getaddrinfo encodes it)
        assert resolved is host
    else:
        assert resolved == encoded


def test_connecting_to_an_address_loads_no_idna_codec() -> None:
    script = (
        "import sys; from kubeplay.connectors import ssh; "
        "print(list(ssh._Client()._families_and_addresses('127.0.0.1', 22)), 'encodings.idna' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split()[-1] == "False" and "('127.0.0.1', 22)" in done.stdout
