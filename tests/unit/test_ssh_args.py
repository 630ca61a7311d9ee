"""ssh arguments in the inventory (ansible_ssh_common_args, ansible_ssh_extra_args), honoured as Ansible's ssh
command line honours them: the options that matter to kubeplay's connection change it, the ones it cannot honour
and that could loosen what is trusted stop the run naming file, line, host and variable, the others are warned
about."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from kubeplay import reconcile
from kubeplay.connectors.knownhosts import SYSTEM_KNOWN_HOSTS, USER_KNOWN_HOSTS
from kubeplay.connectors.ssh import SSHOptions, _HostKeyPolicy, ssh_options
from kubeplay.connectors.sshconfig import (
    Endpoint,
    SSHConfigError,
    parse_ssh_args,
    parse_ssh_config,
    ssh_args_problems,
)
from kubeplay.errors import ConnectionFailed, HostKeyChanged, InputError
from kubeplay.inventory import load_inventory
from kubeplay.model import Minion, Source, SSHArguments


def minion(*arguments: tuple[str, str], **fields: object) -> Minion:
    given = tuple(SSHArguments(variable, text, Source("hosts.ini", 7)) for variable, text in arguments)
    return Minion(name="m1", host="10.0.0.1", ssh_arguments=given, **fields)  # type: ignore[arg-type]


def endpoint(common: str, extra: str = "", config: str = "", **fields: object) -> Endpoint:
    arguments = [("ansible_ssh_common_args", common)] + ([("ansible_ssh_extra_args", extra)] if extra else [])
    options = SSHOptions(config=parse_ssh_config(config, "/home/u/.ssh/config"))
    return options.endpoint(minion(*arguments, **fields))


# --- what is honoured ---------------------------------------------------------------------------------------


def test_the_options_that_matter_to_the_connection_are_honoured() -> None:
    found = endpoint(
        "-o UserKnownHostsFile=/etc/kp/known_hosts -o StrictHostKeyChecking=accept-new -o ConnectTimeout=7 "
        "-p 2222 -l deploy -i /keys/deploy -o IdentitiesOnly=yes -o GlobalKnownHostsFile=none"
    )
    assert (found.port, found.user, found.key_files) == (2222, "deploy", ("/keys/deploy",))
    assert found.known_hosts == ("/etc/kp/known_hosts",) and found.global_known_hosts == ()
    assert found.accept_new and found.timeout == 7 and found.identities_only


@pytest.mark.parametrize("words", ["-oPort=2200", "-o Port=2200", "-o 'Port 2200'", "-o Port=2200 -o Port=2300"])
def test_options_are_written_as_ssh_takes_them_and_the_first_value_wins(words: str) -> None:
    assert endpoint(words).port == 2200


def test_without_ssh_arguments_the_defaults_stay() -> None:
    found = SSHOptions().endpoint(Minion(name="m1", host="10.0.0.1"))
    assert found.known_hosts is None and not found.accept_new and found.timeout == 0 and not found.identities_only
    assert SSHOptions().known_hosts_files(found) == (USER_KNOWN_HOSTS, SYSTEM_KNOWN_HOSTS)


def test_precedence_is_ansibles_command_line_then_the_ssh_config() -> None:
    config = "Host 10.0.0.1\n  Port 2000\n  User cfg\n  ProxyJump cfgjump\n"
    assert endpoint("", config=config).port == 2000
    assert endpoint("-p 2100", "-p 2200", config=config).port == 2100, "common args come first"
    assert endpoint("", "-p 2200", config=config).port == 2200, "the ssh arguments beat ~/.ssh/config"
    assert endpoint("-p 2100", config=config, port=2300).port == 2300, "ansible_port beats them all"
    assert endpoint("-l deploy", config=config, user="admin").user == "admin"
    via = endpoint("-J bastion", config=config).via
    assert via is not None and via.host == "bastion"


def test_the_ssh_arguments_are_not_passed_to_the_jump_host() -> None:
    found = endpoint("-J bastion -p 2222 -o UserKnownHostsFile=/kh")
    assert found.via is not None and found.via.port == 22 and found.via.known_hosts is None


def test_known_hosts_files_expand_tokens_and_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    found = endpoint("-o 'UserKnownHostsFile=~/.ssh/kh_%h /etc/kh'")
    assert found.known_hosts == ("/home/u/.ssh/kh_10.0.0.1", "/etc/kh")
    assert SSHOptions(known_hosts=("/inv/kh",)).known_hosts_files(found) == (
        "/home/u/.ssh/kh_10.0.0.1",
        "/etc/kh",
        SYSTEM_KNOWN_HOSTS,
        "/inv/kh",
    ), "instead of ~/.ssh/known_hosts, and kubeplay_known_hosts still read"


# --- host keys through UserKnownHostsFile -------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def _policy(tmp_path: Path, strict: str) -> _HostKeyPolicy:
    args = f"-o UserKnownHostsFile={tmp_path / 'kh'} -o StrictHostKeyChecking={strict}"
    options, _ = ssh_options([minion(("ansible_ssh_common_args", args))], (), False, 10)
    return _HostKeyPolicy("m1", options.endpoint(minion(("ansible_ssh_common_args", args))), options)


def test_host_keys_are_checked_against_the_user_known_hosts_file_only(
    tmp_path: Path, key: paramiko.PKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "known_hosts").write_text(f"10.0.0.1 {key.get_name()} {key.get_base64()}\n")
    with pytest.raises(ConnectionFailed, match="not found in known_hosts"):
        _policy(tmp_path, "yes").missing_host_key(paramiko.SSHClient(), "x", key)
    (tmp_path / "kh").write_text(f"10.0.0.1 {key.get_name()} {key.get_base64()}\n")
    _policy(tmp_path, "yes").missing_host_key(paramiko.SSHClient(), "x", key)
    other = paramiko.ECDSAKey.generate()
    with pytest.raises(HostKeyChanged, match=f"{tmp_path / 'kh'}:1"):
        _policy(tmp_path, "accept-new").missing_host_key(paramiko.SSHClient(), "x", other)


def test_accept_new_remembers_the_key_in_the_user_known_hosts_file(tmp_path: Path, key: paramiko.PKey) -> None:
    _policy(tmp_path, "accept-new").missing_host_key(paramiko.SSHClient(), "x", key)
    assert (tmp_path / "kh").read_text() == f"10.0.0.1 {key.get_name()} {key.get_base64()}\n"
    _policy(tmp_path, "yes").missing_host_key(paramiko.SSHClient(), "x", key)


# --- what is refused, what is ignored -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-o StrictHostKeyChecking=no", "StrictHostKeyChecking=no would accept a changed host key"),
        ("-o stricthostkeychecking=off", "would accept a changed host key"),
        ("-o StrictHostKeyChecking=maybe", "is not yes, ask or accept-new"),
        ("-o Ciphers=aes128-ctr", "ssh option Ciphers cannot be honoured by kubeplay and may change what is trusted"),
        ("-o HostKeyAlias=other", "ssh option HostKeyAlias cannot be honoured"),
        ("-F /tmp/ssh_config", "ssh argument '-F' cannot be honoured"),
        ("-o", "ssh flag -o needs a value"),
        ("-o Port", "expected Keyword=value"),
        ("-o Port=abc", "Port 'abc' is not a port number"),
        ("-o ConnectTimeout=0", "ConnectTimeout '0' is not 1-3600 seconds"),
        ("-o ProxyCommand='nc %x'", "unknown token %x"),
        ("-o 'UserKnownHostsFile=/a b", "cannot be split into words"),
        ("host.example.com", "ssh argument 'host.example.com' cannot be honoured"),
    ],
)
def test_what_kubeplay_cannot_honour_is_an_error_naming_where(text: str, message: str) -> None:
    with pytest.raises(SSHConfigError, match=message) as caught:
        parse_ssh_args(text, "hosts.ini", 7)
    assert (caught.value.file, caught.value.line) == ("hosts.ini", 7)


def test_harmless_options_are_ignored_with_a_warning() -> None:
    args = parse_ssh_args("-C -vvv -o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=30", "f", 1)
    assert args.options == ()
    assert args.warnings == (
        "ssh flag -C ignored: kubeplay connects with paramiko",
        "ssh flag -vvv ignored: kubeplay connects with paramiko",
        "ssh option ControlMaster ignored: kubeplay connects with paramiko",
        "ssh option ControlPersist ignored: kubeplay connects with paramiko",
        "ssh option ServerAliveInterval ignored: kubeplay connects with paramiko",
    )


def test_problems_name_the_file_line_hosts_and_variable_once_per_setting() -> None:
    shared = SSHArguments("ansible_ssh_common_args", "-o StrictHostKeyChecking=no -C", Source("g/all.yml", 3))
    own = SSHArguments("ansible_ssh_extra_args", "-C", Source("hosts.ini", 9))
    minions = [
        Minion(name="m1", host="m1", ssh_arguments=(shared,)),
        Minion(name="m2", host="m2", ssh_arguments=(shared, own)),
        Minion(name="w", host="w", connection="local", ssh_arguments=(shared,)),
    ]
    problems, warnings = ssh_args_problems(minions)
    assert [str(p) for p in problems] == [
        "g/all.yml:3: host m1 (and 1 more): ansible_ssh_common_args: StrictHostKeyChecking=no would accept a "
        "changed host key, which kubeplay never does: use accept-new to accept new keys only"
    ]
    assert warnings == [
        "hosts.ini:9: host m2: ansible_ssh_extra_args: ssh flag -C ignored: kubeplay connects with paramiko"
    ]


def test_validate_and_apply_stop_before_connecting_and_warn_through_the_run(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[minions]\nm1 ansible_host=10.0.0.1\nm2 ansible_host=10.0.0.2 ansible_ssh_extra_args='-o Ciphers=x'\n"
        "[all:vars]\nansible_ssh_common_args='-o ControlPersist=60s -o UserKnownHostsFile=/kh'\n"
    )
    with pytest.raises(InputError) as caught:
        reconcile.load([], str(inventory), {}, None)
    assert [(p.file, p.line, p.object, p.field) for p in caught.value.problems] == [
        (str(inventory), 3, "host m2", "ansible_ssh_extra_args")
    ]
    inventory.write_text(inventory.read_text().replace(" ansible_ssh_extra_args='-o Ciphers=x'", ""))
    inputs = reconcile.load([], str(inventory), {}, None)
    assert inputs.warnings == (
        f"{inventory}:5: host m1 (and 1 more): ansible_ssh_common_args: ssh option ControlPersist ignored: "
        "kubeplay connects with paramiko",
    )
    loaded = load_inventory(str(inventory)).minions[1]
    assert [(a.variable, a.source) for a in loaded.ssh_arguments] == [
        ("ansible_ssh_common_args", Source(str(inventory), 5))
    ]
    assert SSHOptions().endpoint(loaded).known_hosts == ("/kh",)
