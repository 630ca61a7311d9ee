"""The naming rules of the Kubernetes model: DNS-1123 names, label keys and values, port and variable names.

Each check returns why a value is invalid, or None when it is fine, so callers can word the problem with their
own context (file, object, field) around it.
"""

from __future__ import annotations

import ipaddress
import re

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_MIXED_CASE_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

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


def port_name_error(name: str) -> str | None:
    """Why ``name`` is not a port name (an IANA service name: at most 15, lower-case, with a letter, no '--')."""
    if not name:
        return "must not be empty"
    if len(name) > PORT_NAME_MAX:
        return f"must be at most {PORT_NAME_MAX} characters (it has {len(name)})"
    if not _PORT_NAME.fullmatch(name) or "--" in name:
        return "must consist of lower-case letters, digits and single '-', and start and end with a letter or digit"
    if not any(c.isalpha() for c in name):
        return "must contain at least one letter"
    return None


def env_name_error(name: str) -> str | None:
    """Why ``name`` is not an environment variable name (a C identifier)."""
    if not _ENV_NAME.fullmatch(name):
        return "must be letters, digits and '_', not starting with a digit"
    return None


def ipv4_error(address: str) -> str | None:
    """Why ``address`` is not a dotted-quad IPv4 address."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return "must be an IPv4 address like 10.0.0.10"
    return None


_HOST_NAME = re.compile(r"[A-Za-z0-9_]([-A-Za-z0-9_.]*[A-Za-z0-9_])?")
_LOGIN_NAME = re.compile(r"[A-Za-z0-9_][-A-Za-z0-9_.@]*\$?")


def host_address_error(host: str) -> str | None:
    """Why ``host`` is neither an IP address (IPv6 without brackets) nor a host name. What passes is safe as one
    word of a command line: no whitespace, no leading '-', no shell metacharacters (OpenSSH's own rule for %h)."""
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
    if not _LOGIN_NAME.fullmatch(user) or len(user) > 256:
        return "must be letters, digits, '-', '_', '.' and '@', not starting with '-'"
    return None


def image_error(image: str) -> str | None:
    """Why ``image`` cannot be a Docker image reference (the checks Docker would fail on at create time)."""
    if not image.strip():
        return "must not be empty"
    if any(c.isspace() for c in image):
        return "must not contain whitespace"
    name = image.split("@", 1)[0]
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository = name
    registry, slash, path = repository.partition("/")
    if slash and ("." in registry or ":" in registry or registry == "localhost"):
        repository = path
    if repository != repository.lower():
        return f"repository name {repository!r} must be lower-case"
    return None
