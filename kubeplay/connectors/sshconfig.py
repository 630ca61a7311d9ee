"""~/.ssh/config read as ssh_config(5) describes it, each value with its file and line, and ssh's own arguments
(pure: no paramiko).

Understood: ``Host`` blocks (patterns with ``*``, ``?`` and ``!`` negation), ``Match all`` and ``Match host`` /
``Match originalhost`` (other Match criteria are not evaluated: their block is skipped with a warning),
``Include`` (globs, relative to ~/.ssh), the first value given for a host wins (IdentityFile adds up).
Used: HostName, Port, User, IdentityFile, ProxyCommand, ProxyJump (``none`` switches either off; whichever of the
two comes first for a host wins, as in OpenSSH). Every value kubeplay uses is checked when the file is read, so a
``Port abc`` is an error naming the file and line before anything connects.

ssh's own arguments, as an inventory's ``ansible_ssh_common_args`` and ``ansible_ssh_extra_args`` give them
(``parse_ssh_args``), are read as ssh reads them: their ``-o`` options go first in the lookup (so they beat the
file's), checked by the same rules; they may also set UserKnownHostsFile, GlobalKnownHostsFile,
StrictHostKeyChecking (never ``no``), ConnectTimeout and IdentitiesOnly, which are not taken from the file.

ProxyCommand runs without a shell: its words are split as a shell would split them, then ``%h``, ``%p``, ``%r``,
``%n`` and ``%%`` are replaced inside each word by checked values (a host name or address, a port, a login name).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import Problem
from kubeplay.model import Minion, SSHArguments
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
# compiled for a ProxyJump, by re's cache
_JUMP = r"^(?:ssh://)?(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:@/\[\]]+)(?::(?P<port>[^:]*))?/?$"


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

    def lookup(self, host: str, first: tuple[tuple[str, Value], ...] = ()) -> HostConfig:
        """The values for ``host``; ``first`` (ssh's own ``-o`` options) before every file's."""
        options: dict[str, Value] = {}
        identity: list[Value] = []
        for block in (_Block(("*",), list(first)), *self.blocks):
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
        import glob  # (only an Include needs it)

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
    match = re.match(_JUMP, text.strip())
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


# --- ssh's own command-line arguments -----------------------------------------------------------------------

Options = tuple[tuple[str, Value], ...]
"""(lowercase keyword, value) pairs in the order given."""

_FLAG_KEYWORDS = {"-p": "port", "-l": "user", "-i": "identityfile", "-J": "proxyjump"}
"""ssh's flags that stand for a keyword: ``-p 2222`` is ``-o Port=2222``."""
_IGNORED_FLAGS = frozenset("46ACKTXYagkntqvxy")
"""ssh's flags without a value that change nothing kubeplay's connection trusts (compression, verbosity, X11...)."""
_LOOKUP_KEYWORDS = frozenset({"hostname", "port", "user", "identityfile", "proxycommand", "proxyjump"})
_IGNORED_KEYWORDS = frozenset(
    {
        *("controlmaster", "controlpath", "controlpersist", "compression", "loglevel", "batchmode"),
        *("serveraliveinterval", "serveralivecountmax", "tcpkeepalive", "connectionattempts", "ipqos"),
        *("checkhostip", "hashknownhosts", "updatehostkeys", "visualhostkey", "addkeystoagent"),
        *("passwordauthentication", "kbdinteractiveauthentication", "challengeresponseauthentication"),
        *("gssapiauthentication", "preferredauthentications", "numberofpasswordprompts"),
        *("forwardagent", "forwardx11", "forwardx11trusted", "requesttty", "escapechar", "addressfamily"),
    }
)
"""Options kubeplay's one paramiko connection has no use for and that loosen nothing when left out."""
MAX_CONNECT_TIMEOUT = 3600


@dataclass(frozen=True)
class SSHArgs:
    """What ssh arguments (Ansible's ``ansible_ssh_common_args``) ask for, checked: the options kubeplay honours,
    in order (the first value of a keyword wins, as on ssh's command line), and what it ignores, as warnings."""

    options: Options = ()
    warnings: tuple[str, ...] = ()
    """What was ignored, e.g. "ssh option ControlPersist ignored: kubeplay connects with paramiko"."""

    def __add__(self, other: SSHArgs) -> SSHArgs:
        return SSHArgs(self.options + other.options, self.warnings + other.warnings)


def parse_ssh_args(text: str, file: str, line: int) -> SSHArgs:
    """ssh arguments split as Ansible splits them (shlex) and read as ssh reads them: ``-o Keyword=value`` (or
    ``-oKeyword=value``, ``-o "Keyword value"``), ``-p``, ``-l``, ``-i``, ``-J``. An option kubeplay cannot
    honour that could loosen what is trusted raises SSHConfigError; a harmless one becomes a warning."""
    try:
        words = [word.strip() for word in shlex.split(text) if word.strip()]
    except ValueError as exc:
        raise SSHConfigError(file, line, f"cannot be split into words: {exc}") from exc
    options: list[tuple[str, Value]] = []
    warnings: list[str] = []
    queue = iter(words)
    for word in queue:
        at = Value(word, file, line)
        if len(word) > 1 and word[0] == "-" and set(word[1:]) <= _IGNORED_FLAGS:
            warnings.append(f"ssh flag {word} ignored: kubeplay connects with paramiko")
            continue
        flag = word[:2]
        if flag != "-o" and flag not in _FLAG_KEYWORDS:
            raise at.error(f"ssh argument {_excerpt(word)} cannot be honoured by kubeplay ({_HONOURED})")
        argument = word[2:] or next(queue, None)
        if argument is None:
            raise at.error(f"ssh flag {flag} needs a value")
        written, value = _keyword_value(flag, Value(argument, file, line))
        keyword = written.lower()
        if keyword in _IGNORED_KEYWORDS:
            warnings.append(f"ssh option {written} ignored: kubeplay connects with paramiko")
        else:
            options.append((keyword, _check_arg(written, value)))
    return SSHArgs(tuple(options), tuple(warnings))


def minion_ssh_args(minion: Minion) -> SSHArgs:
    """The minion's ssh arguments (ansible_ssh_common_args, then ansible_ssh_extra_args). Raises SSHConfigError
    naming the inventory file and line."""
    args = SSHArgs()
    for given in minion.ssh_arguments:
        args += parse_ssh_args(given.text, given.source.file, given.source.line or 0)
    return args


def ssh_args_problems(minions: Sequence[Minion]) -> tuple[list[Problem], list[str]]:
    """The ssh arguments of every minion connected to over ssh, read before anything connects: a Problem naming
    the file, line, hosts and variable for each setting kubeplay cannot honour, and a warning for each option it
    ignores; each setting once, however many hosts it applies to."""
    hosts: dict[SSHArguments, list[str]] = {}
    for minion in minions:
        for given in minion.ssh_arguments if minion.connection == "ssh" else ():
            hosts.setdefault(given, []).append(minion.name)
    problems: list[Problem] = []
    warnings: list[str] = []
    for given, names in hosts.items():
        who = f"host {names[0]}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")
        try:
            found = parse_ssh_args(given.text, given.source.file, given.source.line or 0)
        except SSHConfigError as exc:
            problems.append(Problem(exc.file, exc.message, exc.line or None, who, given.variable))
            continue
        warnings += [f"{given.source}: {who}: {given.variable}: {warning}" for warning in found.warnings]
    return problems, warnings


_HONOURED = "it honours -o HostName, Port, User, IdentityFile, ProxyCommand, ProxyJump, UserKnownHostsFile, "
_HONOURED += "GlobalKnownHostsFile, StrictHostKeyChecking (yes, ask, accept-new), ConnectTimeout, IdentitiesOnly, "
_HONOURED += "and -p, -l, -i, -J"


def _keyword_value(flag: str, argument: Value) -> tuple[str, Value]:
    """The keyword as written and its value."""
    if flag != "-o":
        return _FLAG_KEYWORDS[flag], argument
    match = _LINE.match(argument.text.strip())
    if match is None:
        raise argument.error(f"-o {_excerpt(argument.text)}: expected Keyword=value")
    return match[1], replace(argument, text=_unquote(match[2].strip()))


def _check_arg(written: str, value: Value) -> Value:
    """The value of an option kubeplay honours, checked: the config file's keywords by the file's rules, and the
    ones honoured in ssh arguments only (host key files and checking, ConnectTimeout, IdentitiesOnly). Raises
    SSHConfigError for a bad value or an option kubeplay cannot honour."""
    keyword = written.lower()
    if keyword in _LOOKUP_KEYWORDS:
        return check_option(keyword, value)
    if keyword == "stricthostkeychecking":
        strict_host_key_checking(value)
    elif keyword in ("userknownhostsfile", "globalknownhostsfile"):
        for path in value.text.split():
            _check_tokens(replace(value, text=path), _PATH_TOKENS)
    elif keyword == "connecttimeout":
        connect_timeout(value)
    elif keyword == "identitiesonly":
        _yes_no(value, "IdentitiesOnly")
    else:
        raise value.error(
            f"ssh option {written} cannot be honoured by kubeplay and may change what is trusted ({_HONOURED})"
        )
    return value


def strict_host_key_checking(value: Value) -> bool:
    """Whether StrictHostKeyChecking accepts new host keys (accept-new); yes and ask refuse them. ``no`` is
    refused: it would accept a changed key, which kubeplay never does."""
    text = value.text.lower()
    if text in ("no", "off", "false"):
        raise value.error(
            f"StrictHostKeyChecking={value.text} would accept a changed host key, which kubeplay never does: "
            "use accept-new to accept new keys only"
        )
    if text not in ("yes", "true", "ask", "accept-new"):
        raise value.error(f"StrictHostKeyChecking {_excerpt(value.text)} is not yes, ask or accept-new")
    return text == "accept-new"


def connect_timeout(value: Value) -> int:
    if not value.text.isdigit() or not 1 <= int(value.text) <= MAX_CONNECT_TIMEOUT:
        raise value.error(f"ConnectTimeout {_excerpt(value.text)} is not 1-{MAX_CONNECT_TIMEOUT} seconds")
    return int(value.text)


def _yes_no(value: Value, keyword: str) -> bool:
    text = value.text.lower()
    if text not in ("yes", "no", "true", "false"):
        raise value.error(f"{keyword} {_excerpt(value.text)} is not yes or no")
    return text in ("yes", "true")


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
    known_hosts: tuple[str, ...] | None = None
    """UserKnownHostsFile from the ssh arguments: these files instead of ~/.ssh/known_hosts; None: the default."""
    global_known_hosts: tuple[str, ...] | None = None
    """GlobalKnownHostsFile from the ssh arguments: instead of /etc/ssh/ssh_known_hosts; None: the default."""
    accept_new: bool = False
    """StrictHostKeyChecking=accept-new in the ssh arguments."""
    timeout: int = 0
    """ConnectTimeout from the ssh arguments, in seconds; 0: the run's."""
    identities_only: bool = False
    """IdentitiesOnly=yes in the ssh arguments: only the key files, not ssh-agent's keys nor ~/.ssh's defaults."""


def resolve(
    config: SSHConfig, name: str, want: Jump, key_files: tuple[str, ...] = (), args: SSHArgs = SSHArgs()
) -> Endpoint:
    """How to reach host ``name``: the config's values for it, under what ``args`` (ssh arguments) and above
    them ``want`` and ``key_files`` set (the inventory's values win, as in Ansible, whose ssh command line puts
    them first). The ssh arguments apply to this host, not to its jump hosts (as ``ssh -J`` passes no ``-o``).
    Raises SSHConfigError or ValueError (a bad host from the inventory)."""
    endpoint = _resolve(config, name, want, key_files, chain=(), first=args.options)
    return _with_trust(endpoint, args.options)


def _with_trust(endpoint: Endpoint, options: Options) -> Endpoint:
    """The host key and timeout settings of the ssh arguments applied (the first value of each wins)."""
    given: dict[str, Value] = {}
    for key, value in options:
        given.setdefault(key, value)
    tokens = _path_tokens(endpoint.host, endpoint.name, endpoint.port, endpoint.user)

    def files(key: str) -> tuple[str, ...] | None:
        value = given.get(key)
        if value is None:
            return None
        paths = [] if value.text.lower() == "none" else value.text.split()
        return tuple(os.path.expanduser(expand_tokens(path, tokens)) for path in paths)

    strict, timeout, only = given.get("stricthostkeychecking"), given.get("connecttimeout"), given.get("identitiesonly")
    return replace(
        endpoint,
        known_hosts=files("userknownhostsfile"),
        global_known_hosts=files("globalknownhostsfile"),
        accept_new=strict_host_key_checking(strict) if strict else False,
        timeout=connect_timeout(timeout) if timeout else 0,
        identities_only=_yes_no(only, "IdentitiesOnly") if only else False,
    )


def _path_tokens(host: str, name: str, port: int, user: str) -> dict[str, str]:
    return {"%h": host, "%n": name, "%p": str(port), "%r": user, "%u": user, "%d": os.path.expanduser("~")}


def _resolve(
    config: SSHConfig, name: str, want: Jump, key_files: tuple[str, ...], chain: tuple[str, ...], first: Options = ()
) -> Endpoint:
    found = config.lookup(name, first)
    hostname = found.get("hostname")
    host = expand_tokens(hostname.text, {"%h": name}) if hostname else name
    problem = host_address_error(host)
    if problem:
        raise hostname.error(f"HostName {_excerpt(host)} {problem}") if hostname else ValueError(problem)
    port_value = found.get("port")
    port = want.port or (parse_config_port(port_value) if port_value else 22)
    user_value = found.get("user")
    user = want.user or (user_value.text if user_value else "")
    tokens = _path_tokens(host, name, port, user)
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
