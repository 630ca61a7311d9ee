"""The naming rules of the Kubernetes model: DNS-1123 names, label keys and values, port and variable names, and
the syntax of image references, paths and values that reach Docker or a minion.

Each check returns why a value is invalid, or None when it is fine, so callers can word the problem with their
own context (file, object, field) around it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Literal

from kubeplay.dataclass import dataclass

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_MIXED_CASE_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PORT_NAME = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"  # (these compiled when first used, by re's cache)
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
PORT_NAME_MAX = 15


def dns_label_error(name: str, *, mixed_case: bool = False) -> str | None:
    """Why ``name`` is not a DNS-1123 label (``mixed_case`` also allows capitals, as in "redisController")."""
    if not name:
        return "must not be empty"
    if len(name) > DNS_LABEL_MAX:
        return f"must be at most {DNS_LABEL_MAX} characters (it has {len(name)})"
    pattern = _MIXED_CASE_LABEL if mixed_case else _DNS_LABEL
    if not pattern.fullmatch(name):
        letters = "letters" if mixed_case else "lower-case letters"
        return f"must consist of {letters}, digits and '-', and start and end with a letter or digit"
    return None


def dns_subdomain_error(name: str) -> str | None:
    """Why ``name`` is not a DNS-1123 subdomain (dot-separated labels, at most 253 characters)."""
    if not name:
        return "must not be empty"
    if len(name) > DNS_SUBDOMAIN_MAX:
        return f"must be at most {DNS_SUBDOMAIN_MAX} characters (it has {len(name)})"
    if not all(_DNS_LABEL.fullmatch(part) for part in name.split(".")):
        return "must be lower-case labels of letters, digits and '-' separated by '.'"
    return None


def label_key_error(key: str) -> str | None:
    """Why ``key`` is not a label key: an optional DNS subdomain prefix and '/', then a name of at most 63."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        problem = dns_subdomain_error(prefix)
        if problem:
            return f"prefix {prefix!r} {problem}"
    if not name:
        return "name part must not be empty"
    if len(name) > DNS_LABEL_MAX:
        return f"name part must be at most {DNS_LABEL_MAX} characters (it has {len(name)})"
    if not _LABEL_NAME.fullmatch(name):
        return "name part must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"
    return None


def label_value_error(value: str) -> str | None:
    """Why ``value`` is not a label value: empty, or at most 63 letters, digits, '-', '_', '.' (alnum at the ends)."""
    if len(value) > LABEL_VALUE_MAX:
        return f"must be at most {LABEL_VALUE_MAX} characters (it has {len(value)})"
    if value and not _LABEL_NAME.fullmatch(value):
        return "must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"
    return None


Checker = Callable[[str], "str | None"]
"""Says why a string is invalid, or returns None."""


def accepted(_: str) -> None:
    """Accepts every value: the checker of a field an era did not check."""
    return None


LABEL_TEXT_MAX = 1024
"""kubeplay's own bound on a label key or value of an era that set none (the v0.4 apiserver stored any string)."""


def label_text_error(text: str) -> str | None:
    """Why ``text`` cannot be a label key or value in any era: kubeplay's floor under the unchecked v0.4 labels.
    A label is stored in a Docker label as JSON and shown in tables and logs, so it must be one line of printable
    text of bounded length; nothing else is required (it never reaches a shell, and selectors match it as data)."""
    if len(text) > LABEL_TEXT_MAX:
        return f"must be at most {LABEL_TEXT_MAX} characters (it has {len(text)})"
    if not text.isprintable():
        return "must be printable text: no control characters (newline, tab, NUL, ESC, ...)"
    return None


def label_key_text_error(key: str) -> str | None:
    """Why ``key`` cannot be a label key in any era: empty, or not printable text of bounded length."""
    return "must not be empty" if not key else label_text_error(key)


Era = Literal["v0.4", "current"]
LabelPart = Literal["key", "value"]


@dataclass(frozen=True)
class LabelRules:
    """How one era of the Kubernetes API checked the keys and values of labels and selectors.

    ``key_error`` and ``value_error`` say why the era refused a key or value. ``key_warning`` and ``value_warning``
    say why today's Kubernetes would refuse one the era accepted (a warning, not an error)."""

    era: str
    """The era as messages name it."""
    key_error: Checker
    value_error: Checker
    key_warning: Checker = accepted
    value_warning: Checker = accepted

    def judge(self, part: LabelPart, text: str) -> tuple[str | None, str | None]:
        """(why this era refuses ``text`` as a label key or value, why today's Kubernetes would refuse it)."""
        error, warning = (self.key_error, self.key_warning) if part == "key" else (self.value_error, self.value_warning)
        refused = error(text)
        return refused, None if refused else warning(text)

    def accepts(self, key: str, value: str) -> bool:
        """Whether ``key: value`` is neither refused nor warned about, as a label: ``judge`` of the key and the value,
        each pair judged once (the checkers are pure; 5,000 services and their controllers give each pair three
        times)."""
        pair = (key, value)
        fine = self._accepted.get(pair)
        if fine is None:
            fine = self.judge("key", key) == self.judge("value", value) == (None, None)
            if len(self._accepted) < _MOST_REMEMBERED:
                self._accepted[pair] = fine
        return fine

    @functools.cached_property
    def _accepted(self) -> dict[tuple[str, str], bool]:
        """``accepts`` so far."""
        return {}


_MOST_REMEMBERED = 100_000
"""The most label pairs ``LabelRules.accepts`` remembers (a process that runs for long reads many)."""


LABEL_RULES: dict[Era, LabelRules] = {
    # Labels of pods, services and replication controllers, and selectors, were not validated before
    # kubernetes/kubernetes#1830 (RFC 952 labels, after v0.4); #8158 set today's 63-character value rule.
    "v0.4": LabelRules(
        era="the Kubernetes v0.4 apiserver",
        key_error=label_key_text_error,
        value_error=label_text_error,
        key_warning=label_key_error,
        value_warning=label_value_error,
    ),
    "current": LabelRules(era="Kubernetes", key_error=label_key_error, value_error=label_value_error),
}
LOOSEST_LABEL_RULES = LABEL_RULES["v0.4"]
"""The rules that accept every label some era accepts: for labels read back from a minion, and ``-l``."""


def port_name_error(name: str) -> str | None:
    """Why ``name`` is not a port name (an IANA service name: at most 15, lower-case, with a letter, no '--')."""
    if not name:
        return "must not be empty"
    if len(name) > PORT_NAME_MAX:
        return f"must be at most {PORT_NAME_MAX} characters (it has {len(name)})"
    if not re.fullmatch(_PORT_NAME, name) or "--" in name:
        return "must consist of lower-case letters, digits and single '-', and start and end with a letter or digit"
    if not any(c.isalpha() for c in name):
        return "must contain at least one letter"
    return None


def env_name_error(name: str) -> str | None:
    """Why ``name`` is not an environment variable name (a C identifier)."""
    if not re.fullmatch(_ENV_NAME, name):
        return "must be letters, digits and '_', not starting with a digit"
    return None


def ipv4_error(address: str) -> str | None:
    """Why ``address`` is not a dotted-quad IPv4 address."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return "must be an IPv4 address like 10.0.0.10"
    return None


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""A dotted-quad IPv4 address as ``ipaddress`` accepts one: four numbers 0-255, none with a leading zero."""
_HOST_NAME = re.compile(r"[A-Za-z0-9_]([-A-Za-z0-9_.]*[A-Za-z0-9_])?")
_LOGIN_NAME = r"[A-Za-z0-9_][-A-Za-z0-9_.@]*\$?"  # (compiled when first used)


def host_address_error(host: str) -> str | None:
    """Why ``host`` is neither an IP address (IPv6 without brackets) nor a host name. What passes is safe as one
    word of a command line: no whitespace, no leading '-', no shell metacharacters (OpenSSH's own rule for %h)."""
    if _IPV4.fullmatch(host):  # (as ipaddress reads it, in a tenth of the time: a thousand minions)
        return None
    address, _, scope = host.partition("%")  # an IPv6 zone: fe80::1%eth0
    try:
        ipaddress.ip_address(address)
    except ValueError:
        pass
    else:
        if not scope or (":" in address and _HOST_NAME.fullmatch(scope)):
            return None
    if len(host) > DNS_SUBDOMAIN_MAX or not _HOST_NAME.fullmatch(host) or ".." in host:
        return (
            "must be an IP address or a host name (letters, digits, '-', '_' and '.', "
            "not starting or ending with '-' or '.')"
        )
    return None


def login_name_error(user: str) -> str | None:
    """Why ``user`` cannot be a remote login name (letters, digits, '-', '_', '.', '@', not starting with '-')."""
    if not re.fullmatch(_LOGIN_NAME, user) or len(user) > 256:
        return "must be letters, digits, '-', '_', '.' and '@', not starting with '-'"
    return None


_DOMAIN_COMPONENT = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# compiled when first used, by re's cache
_REGISTRY = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # (these compiled when first used)
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
IMAGE_NAME_MAX = 255
"""Docker's limit on the length of an image name (registry and repository, without tag and digest)."""


def image_error(image: str) -> str | None:
    """Why ``image`` is not a Docker image reference, by Docker's grammar (distribution/reference):
    ``[registry[:port]/]component[/component...][:tag][@algorithm:hex]``, components lower-case."""
    if not image.strip():
        return "must not be empty"
    if any(c.isspace() or not c.isprintable() for c in image):
        return "must not contain whitespace or control characters"
    name, at, digest = image.partition("@")
    if at and not re.fullmatch(_DIGEST, digest):
        return f"digest {digest!r} must be algorithm:hex with at least 32 hex digits, e.g. sha256:<64 hex digits>"
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, ""
    elif not re.fullmatch(_TAG, tag):
        return f"tag {tag!r} must be at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
    return _repository_error(repository)


def _repository_error(name: str) -> str | None:
    """Why ``name`` ([registry/]path) is not an image name."""
    if len(name) > IMAGE_NAME_MAX:
        return f"name must be at most {IMAGE_NAME_MAX} characters (it has {len(name)})"
    registry, slash, path = name.partition("/")
    if not slash or not ("." in registry or ":" in registry or registry == "localhost" or registry != registry.lower()):
        registry, path = "", name
    if registry and not re.fullmatch(_REGISTRY, registry):
        return f"registry {registry!r} must be a host name or address with an optional :port"
    if path != path.lower():
        return f"repository name {path!r} must be lower-case"
    bad = next((part for part in path.split("/") if not _PATH_COMPONENT.fullmatch(part)), None)
    if bad is not None:
        return (
            f"repository name component {bad!r} must be lower-case ASCII letters and digits, "
            "separated by '.', '_', '__' or '-'"
        )
    return None


PATH_MAX = 4096


def path_error(path: str) -> str | None:
    """Why ``path`` cannot be a host path or a mount path: absolute, no control characters, no ':' (Docker's bind
    string "source:target:mode" is split on it), no '..' component."""
    if not path.startswith("/"):
        return "must be an absolute path"
    if len(path) > PATH_MAX:
        return f"must be at most {PATH_MAX} characters (it has {len(path)})"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return "must not contain control characters (NUL, newline, ESC, ...)"
    if ":" in path:
        return "must not contain ':' (Docker's bind syntax source:target:mode is split on it)"
    if ".." in path.split("/"):
        return "must not contain a '..' component"
    return None


def http_path_error(path: str) -> str | None:
    """Why ``path`` cannot be the path of an HTTP request: it starts with '/' and is printable ASCII without spaces
    (percent-encode anything else), so it can never add a line to the request."""
    if not path.startswith("/"):
        return "must start with '/'"
    if not all(0x21 <= ord(c) <= 0x7E for c in path):
        return "must be printable ASCII without spaces or control characters (percent-encode others)"
    return None


def host_name_error(host: str) -> str | None:
    """Why ``host`` is neither an IPv4 address nor a DNS name."""
    if ipv4_error(host) is None or dns_subdomain_error(host.lower()) is None:
        return None
    return "must be an IPv4 address or a DNS name"


def text_error(value: str) -> str | None:
    """Why ``value`` cannot be passed to a program (an environment value, an argument): it holds a NUL."""
    return "must not contain a NUL character (a program cannot receive one)" if "\0" in value else None
