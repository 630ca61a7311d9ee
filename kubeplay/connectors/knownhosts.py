"""OpenSSH's known_hosts files, read as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes them (pure: no paramiko).

One entry a line: ``[marker] hostpatterns keytype base64-key [comment]``.

- hostpatterns: comma-separated names or addresses, ``*`` and ``?`` wildcards, ``!pattern`` negates (a line whose
  negated pattern matches does not apply, whatever else matches); a host on a port other than 22 is written
  ``[host]:port``; a hashed entry ``|1|salt|hash`` is HMAC-SHA1(salt, name) of one such name.
- ``@revoked``: the key must never be accepted for the hosts the line names.
- ``@cert-authority``: a CA for host certificates. paramiko cannot check host certificates, so these lines are
  skipped, with one warning per file.

A presented key is ``known`` when a line for the host holds it, ``revoked`` when a @revoked line for the host holds
it (whatever else says), ``changed`` when lines for the host hold only other keys of its type, else ``unknown``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Iterable
from typing import Literal

from kubeplay.dataclass import dataclass

USER_KNOWN_HOSTS = "~/.ssh/known_hosts"
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
MAX_FILE_SIZE = 64 << 20
"""A known_hosts file larger than this (64 MiB) is skipped with a warning: bounded work."""

REVOKED = "@revoked"
CERT_AUTHORITY = "@cert-authority"
_HASH_MAGIC = "|1|"


def host_key_name(host: str, port: int) -> str:
    """The name known_hosts lists a host under: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: bytes) -> str:
    """A key's fingerprint as OpenSSH prints it: ``SHA256:`` and the unpadded base64 of the SHA-256 of the blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class HostKeyEntry:
    """One usable line of a known_hosts file."""

    file: str
    line: int
    hosts: str
    """The hostpatterns field as written (comma-separated patterns, or one hashed name)."""
    key_type: str
    key: bytes
    """The decoded public key blob."""
    revoked: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def matches(self, name: str) -> bool:
        """Whether the line applies to ``name`` (as ``host_key_name`` writes it)."""
        name = name.lower()
        if self.hosts.startswith(_HASH_MAGIC):
            return _hashed_matches(self.hosts, name)
        matched = False
        for pattern in self.hosts.lower().split(","):
            negated = pattern.startswith("!")
            if _glob(pattern[1:] if negated else pattern).fullmatch(name):
                if negated:
                    return False
                matched = True
        return matched


def _glob(pattern: str) -> re.Pattern[str]:
    """OpenSSH's wildcards: ``*`` any run of characters, ``?`` one character; everything else literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _hashed_matches(hashed: str, name: str) -> bool:
    parts = hashed[len(_HASH_MAGIC) :].split("|")
    if len(parts) != 2:
        return False
    try:
        salt, digest = base64.b64decode(parts[0], validate=True), base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        return False
    return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)


@dataclass(frozen=True)
class HostKeyCheck:
    """What the known_hosts files say of a presented key."""

    verdict: Literal["known", "unknown", "changed", "revoked"]
    entry: HostKeyEntry | None = None
    """The line that decided: the known key's line (``changed``: the line with the key expected), or the @revoked
    line."""


@dataclass(frozen=True)
class KnownHosts:
    """Every usable entry of the known_hosts files read, in the order read, and the warnings reading them gave."""

    entries: tuple[HostKeyEntry, ...] = ()
    warnings: tuple[str, ...] = ()

    def for_host(self, host: str, port: int) -> list[HostKeyEntry]:
        name = host_key_name(host, port)
        return [entry for entry in self.entries if entry.matches(name)]

    def key_types(self, host: str, port: int) -> list[str]:
        """The key types known (not revoked) for the host, first seen first: the ones to ask the server for."""
        types = [entry.key_type for entry in self.for_host(host, port) if not entry.revoked]
        return list(dict.fromkeys(types))

    def check(self, host: str, port: int, key_type: str, key: bytes) -> HostKeyCheck:
        lines = self.for_host(host, port)
        revoked = next((e for e in lines if e.revoked and e.key == key), None)
        if revoked is not None:
            return HostKeyCheck("revoked", revoked)
        trusted = [e for e in lines if not e.revoked]
        same = next((e for e in trusted if e.key == key), None)
        if same is not None:
            return HostKeyCheck("known", same)
        other = next((e for e in trusted if e.key_type == key_type), None)
        if other is not None:
            return HostKeyCheck("changed", other)
        return HostKeyCheck("unknown")


def parse_known_hosts(text: str, file: str) -> tuple[list[HostKeyEntry], list[str]]:
    """The usable entries of one file and its warnings. Lines OpenSSH would ignore (malformed ones) are skipped."""
    entries: list[HostKeyEntry] = []
    authorities: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = ""
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
        if marker == CERT_AUTHORITY:
            authorities.append(number)
            continue
        entry = _entry(line, file, number, revoked=marker == REVOKED)
        if entry is not None and marker in ("", REVOKED):
            entries.append(entry)
    warnings = []
    if authorities:
        lines = ", ".join(str(n) for n in authorities)
        warnings.append(
            f"{file}: @cert-authority line(s) {lines} skipped: host certificates cannot be checked by paramiko "
            "(list the minions' own host keys instead)"
        )
    return entries, warnings


def _entry(line: str, file: str, number: int, *, revoked: bool) -> HostKeyEntry | None:
    fields = line.split()
    if len(fields) < 3:
        return None
    try:
        key = base64.b64decode(fields[2], validate=True)
    except binascii.Error:
        return None
    return HostKeyEntry(file, number, fields[0], fields[1], key, revoked)


def read_known_hosts(paths: Iterable[str]) -> KnownHosts:
    """Read the files that exist among ``paths`` (``~`` expanded; missing ones are skipped, as OpenSSH does)."""
    entries: list[HostKeyEntry] = []
    warnings: list[str] = []
    for path in dict.fromkeys(os.path.expanduser(p) for p in paths):
        text, problem = _read(path)
        if problem:
            warnings.append(f"{path}: {problem}")
        if text:
            found, said = parse_known_hosts(text, path)
            entries.extend(found)
            warnings.extend(said)
    return KnownHosts(tuple(entries), tuple(warnings))


def _read(path: str) -> tuple[str, str]:
    """The file's text, or "" and why it was skipped ("" when it does not exist)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "", ""
    except OSError as exc:
        return "", f"skipped: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return "", "skipped: not a regular file"
    if info.st_size > MAX_FILE_SIZE:
        return "", f"skipped: larger than {MAX_FILE_SIZE >> 20} MiB"
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read(MAX_FILE_SIZE), ""
    except OSError as exc:
        return "", f"skipped: {exc.strerror}"
