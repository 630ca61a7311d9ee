"""~/.ssh/config read as ssh_config(5) describes it, each value with its file and line (pure: no paramiko).

Understood: ``Host`` blocks (patterns with ``*``, ``?`` and ``!`` negation), ``Match all`` and ``Match host`` /
``Match originalhost`` (other Match criteria are not evaluated: their block is skipped with a warning),
``Include`` (globs, relative to ~/.ssh), the first value given for a host wins (IdentityFile adds up).
Used: HostName, Port, User, IdentityFile, ProxyCommand, ProxyJump (``none`` switches either off; whichever of the
two comes first for a host wins, as in OpenSSH). Every value kubeplay uses is checked when the file is read, so a
``Port abc`` is an error naming the file and line before anything connects.

ProxyCommand runs without a shell: its words are split as a shell would split them, then ``%h``, ``%p``, ``%r``,
``%n`` and ``%%`` are replaced inside each word by checked values (a host name or address, a port, a login name).
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass, field, replace

from kubeplay.names import host_address_error, login_name_error

MAX_INCLUDE_DEPTH = 16
"""As OpenSSH's READCONF_MAX_DEPTH."""
MAX_JUMPS = 8
"""ProxyJump hops, counted along the whole chain (the hops' own ProxyJump included)."""
MAX_FILE_SIZE = 1 << 20

_LINE = re.compile(r"^(\w+)(?:\s*=\s*|\s+)(.+)$")
_TOKEN = re.compile(r"%(.)")
_COMMAND_TOKENS = frozenset({"%h", "%n", "%p", "%r"})
_PATH_TOKENS = frozenset({"%d", "%h", "%n", "%p", "%r", "%u"})
_JUMP = re.compile(r"^(?:ssh://)?(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:@/\[\]]+)(?::(?P<port>[^:]*))?/?$")


class SSHConfigError(ValueError):
    """A problem with one line of an ssh config file."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")


@dataclass(frozen=True)
class Value:
    text: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def error(self, message: str) -> SSHConfigError:
        return SSHConfigError(self.file, self.line, message)


@dataclass(frozen=True)
class Jump:
    """One hop of a ProxyJump: ``[user@]host[:port]``; empty user and port 0 when not given."""

    host: str
    user: str = ""
    port: int = 0


@dataclass
class _Block:
    patterns: tuple[str, ...] | None
    """Host patterns; None for a block that never applies (a Match kubeplay does not evaluate)."""
    options: list[tuple[str, Value]] = field(default_factory=list)


@dataclass(frozen=True)
class HostConfig:
    """What the config says for one host: the first value of each keyword (every IdentityFile)."""

    options: dict[str, Value] = field(default_factory=dict)
    identity_files: tuple[Value, ...] = ()

    def get(self, key: str) -> Value | None:
        return self.options.get(key)


@dataclass(frozen=True)
class SSHConfig:
    blocks: tuple[_Block, ...] = ()
    warnings: tuple[str, ...] = ()

    def lookup(self, host: str) -> HostConfig:
        options: dict[str, Value] = {}
        identity: list[Value] = []
        for block in self.blocks:
            if block.patterns is None or not _host_matches(block.patterns, host):
                continue
            for key, value in block.options:
                if key == "identityfile":
                    identity.append(value)
                elif key in ("proxycommand", "proxyjump") and ("proxycommand" in options or "proxyjump" in options):
                    continue
                else:
                    options.setdefault(key, value)
        return HostConfig(options, tuple(identity))


def _host_matches(patterns: tuple[str, ...], host: str) -> bool:
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lstrip("!"))
        if re.fullmatch(regex, host, re.IGNORECASE | re.DOTALL):
            if negated:
                return False
            matched = True
    return matched


# --- reading ------------------------------------------------------------------------------------------------


def read_ssh_config(path: str) -> SSHConfig:
    """The config at ``path`` (``~`` expanded); an empty one when the file does not exist. Raises SSHConfigError."""
    reader = _Reader(os.path.dirname(os.path.expanduser(path)) or ".")
    reader.read_file(os.path.expanduser(path), None, 0)
    return SSHConfig(tuple(reader.blocks), tuple(reader.warnings))


def parse_ssh_config(text: str, file: str) -> SSHConfig:
    """The config in ``text`` (Include is read relative to the file's folder). Raises SSHConfigError."""
    reader = _Reader(os.path.dirname(file) or ".")
    reader.read_text(text, file, 0)
    return SSHConfig(tuple(reader.blocks), tuple(reader.warnings))


class _Reader:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.blocks: list[_Block] = [_Block(("*",))]
        self.warnings: list[str] = []

    def read_file(self, path: str, origin: Value | None, depth: int) -> None:
        try:
            if not os.path.isfile(path):
                if origin is None and not os.path.exists(path):
                    return
                raise OSError(f"{path} is not a regular file")
            if os.path.getsize(path) > MAX_FILE_SIZE:
                raise OSError(f"{path} is larger than {MAX_FILE_SIZE >> 20} MiB")
            with open(path, encoding="utf-8", errors="replace") as stream:
                text = stream.read()
        except OSError as exc:
            message = f"cannot read {path}: {exc.strerror or exc}"
            raise (origin.error(message) if origin else SSHConfigError(path, 0, message)) from exc
        self.read_text(text, path, depth)

    def read_text(self, text: str, file: str, depth: int) -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                raise SSHConfigError(file, number, f"cannot read {_excerpt(line)}: expected 'Keyword value'")
            self.option(match[1].lower(), Value(_unquote(match[2].strip()), file, number), depth)

    def option(self, key: str, value: Value, depth: int) -> None:
        if key == "host":
            self.blocks.append(_Block(_host_patterns(value)))
        elif key == "match":
            self.blocks.append(_Block(self.match(value)))
        elif key == "include":
            self.include(value, depth)
        else:
            self.blocks[-1].options.append((key, check_option(key, value)))

    def match(self, value: Value) -> tuple[str, ...] | None:
        words = value.text.split()
        if [w.lower() for w in words] == ["all"]:
            return ("*",)
        if len(words) == 2 and words[0].lower() in ("host", "originalhost"):
            return tuple(words[1].split(","))
        self.warnings.append(f"{value.where}: Match {_excerpt(value.text)} is not evaluated by kubeplay: block skipped")
        return None

    def include(self, value: Value, depth: int) -> None:
        if depth >= MAX_INCLUDE_DEPTH:
            raise value.error(f"Include nested deeper than {MAX_INCLUDE_DEPTH} files")
        for pattern in shlex.split(value.text):
            path = os.path.join(self.folder, os.path.expanduser(pattern))
            for name in sorted(glob.glob(path)):
                self.read_file(name, value, depth + 1)


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _host_patterns(value: Value) -> tuple[str, ...]:
    patterns = tuple(value.text.split())
    if not patterns:
        raise value.error("Host needs at least one pattern")
    return patterns


# --- checking values ----------------------------------------------------------------------------------------


def check_option(key: str, value: Value) -> Value:
    """The value, checked when kubeplay uses the keyword. Raises SSHConfigError naming the line."""
    if key == "port":
        parse_config_port(value)
    elif key == "user":
        _check(value, login_name_error(value.text), "User")
    elif key == "proxyjump":
        parse_jumps(value)
    elif key == "proxycommand" and value.text.lower() != "none":
        command_words(value)
    elif key == "identityfile":
        _check_tokens(value, _PATH_TOKENS)
    elif key == "hostname":
        _check_tokens(value, frozenset({"%h"}))
    return value


def _check(value: Value, problem: str | None, keyword: str) -> None:
    if problem:
        raise value.error(f"{keyword} {_excerpt(value.text)} {problem}")


def parse_config_port(value: Value) -> int:
    text = value.text
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise value.error(f"Port {_excerpt(text)} is not a port number (1-65535)")
    return int(text)


def parse_jumps(value: Value) -> tuple[Jump, ...]:
    """The hops of a ProxyJump value, in order; () for ``none``."""
    if value.text.lower() == "none":
        return ()
    hops = tuple(_jump(value, part) for part in value.text.split(","))
    if len(hops) > MAX_JUMPS:
        raise value.error(f"ProxyJump has more than {MAX_JUMPS} hops")
    return hops


def _jump(value: Value, text: str) -> Jump:
    match = _JUMP.match(text.strip())
    if match is None:
        raise value.error(f"ProxyJump hop {_excerpt(text)} is not [user@]host[:port]")
    host = match["host"].removeprefix("[").removesuffix("]")
    _check(value, host_address_error(host), "ProxyJump host")
    user = match["user"] or ""
    if user:
        _check(value, login_name_error(user), "ProxyJump user")
    port = 0
    if match["port"] is not None:
        port = parse_config_port(replace(value, text=match["port"]))
    return Jump(host, user, port)


def command_words(value: Value) -> list[str]:
    """A ProxyCommand's words, split as a shell would (no shell runs them), tokens not yet replaced."""
    try:
        words = shlex.split(value.text)
    except ValueError as exc:
        raise value.error(f"ProxyCommand cannot be split into words: {exc}") from exc
    if not words:
        raise value.error("ProxyCommand is empty")
    for word in words:
        _check_tokens(replace(value, text=word), _COMMAND_TOKENS)
    return words


def _check_tokens(value: Value, allowed: frozenset[str]) -> None:
    for token in _TOKEN.findall(value.text):
        if "%" + token not in allowed and token != "%":
            raise value.error(f"unknown token %{token} (known here: {', '.join(sorted(allowed))})")


def expand_tokens(text: str, tokens: dict[str, str]) -> str:
    """``%h`` and the like replaced in one pass (``%%`` is a '%'), from values checked beforehand."""
    return _TOKEN.sub(lambda m: "%" if m[1] == "%" else tokens.get("%" + m[1], m[0]), text)


# --- how to reach a host ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One SSH connection to open: where, as whom, and what carries it there (directly, a ProxyCommand, or a
    direct-tcpip channel from the jump host ``via``)."""

    name: str
    """The host as the inventory or the ProxyJump names it."""
    host: str
    """The address connected to (HostName applied): a checked IP address or host name."""
    port: int
    user: str
    key_files: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    """ProxyCommand's argv, tokens replaced; () for none."""
    command_at: str = ""
    """The file:line of the ProxyCommand."""
    via: Endpoint | None = None


def resolve(config: SSHConfig, name: str, want: Jump, key_files: tuple[str, ...] = ()) -> Endpoint:
    """How to reach host ``name``: the config's values for it, under what ``want`` and ``key_files`` set (the
    inventory's values win, as in Ansible). Raises SSHConfigError or ValueError (a bad host from the inventory)."""
    return _resolve(config, name, want, key_files, chain=())


def _resolve(config: SSHConfig, name: str, want: Jump, key_files: tuple[str, ...], chain: tuple[str, ...]) -> Endpoint:
    found = config.lookup(name)
    hostname = found.get("hostname")
    host = expand_tokens(hostname.text, {"%h": name}) if hostname else name
    problem = host_address_error(host)
    if problem:
        raise hostname.error(f"HostName {_excerpt(host)} {problem}") if hostname else ValueError(problem)
    port_value = found.get("port")
    port = want.port or (parse_config_port(port_value) if port_value else 22)
    user_value = found.get("user")
    user = want.user or (user_value.text if user_value else "")
    tokens = {"%h": host, "%n": name, "%p": str(port), "%r": user, "%u": user, "%d": os.path.expanduser("~")}
    keys = key_files or tuple(os.path.expanduser(expand_tokens(v.text, tokens)) for v in found.identity_files)
    endpoint = Endpoint(name, host, port, user, keys)
    command = found.get("proxycommand")
    jumps = found.get("proxyjump")
    if command is not None and command.text.lower() != "none":
        argv = tuple(expand_tokens(word, tokens) for word in command_words(command))
        return replace(endpoint, command=argv, command_at=command.where)
    if jumps is not None:
        return replace(endpoint, via=_through(config, jumps, (*chain, name)))
    return endpoint


def _through(config: SSHConfig, jumps: Value, chain: tuple[str, ...]) -> Endpoint | None:
    """The last hop of a ProxyJump, reached through the hops before it (the first hop as its own config says).
    A hop already on the way (``Host *`` with ``ProxyJump bastion`` also matches bastion) is not jumped through."""
    via: Endpoint | None = None
    for hop in parse_jumps(jumps):
        if hop.host in chain:
            continue
        if len(chain) > MAX_JUMPS:
            raise jumps.error(f"ProxyJump chain longer than {MAX_JUMPS} hops: {' -> '.join(chain)}")
        if via is None:
            via = _resolve(config, hop.host, hop, (), chain)
        else:
            via = replace(_resolve(config, hop.host, hop, (), (*chain, hop.host)), command=(), via=via)
    return via
