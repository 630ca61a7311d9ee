"""kubeplay's exceptions. Foreign errors (paramiko, docker, yaml, jinja2) are re-raised as these with ``from``.

KubeplayError
├── InputError                 bad input: nothing has been touched on any minion
│   ├── ManifestError          one or more problems in manifest files (each with file, object, field, line)
│   └── InventoryError         one or more problems in inventory files
├── ConnectionFailed           a minion could not be reached or authenticated (unknown host key, ...)
│   └── UntrustedHostKey       the minion presented a key known_hosts forbids: an error (exit 1), not unreachable
│       ├── HostKeyChanged     another key than the one known_hosts holds for it
│       └── HostKeyRevoked     a key a @revoked line names
├── MinionError                a command on a minion failed
├── DockerError                a minion's Docker daemon refused or failed a call (docker-py's errors, translated)
│   ├── DockerNotFound         the container, image or volume named does not exist
│   └── DockerConflict         the name asked for is taken (Docker's 409 Conflict)
├── Locked                     another run holds a minion's lock: nothing has been changed on any minion
└── LabError                   the local lab cluster could not be built or inspected
"""

from __future__ import annotations

from kubeplay.dataclass import dataclass


class KubeplayError(Exception):
    """Base of every error kubeplay raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the format allows."""

    file: str
    message: str
    line: int | None = None
    object: str = ""
    """Kind and name of the object, e.g. "Pod redis"; empty where the problem is with the whole file."""
    field: str = ""
    """Dotted path of the field, e.g. "desiredState.manifest.containers[0].ports[0].hostPort"."""

    def __str__(self) -> str:
        """ "file:line: object: field: message", control characters escaped and any overlong part shortened (the
        loaders quote only short excerpts of values; this keeps every message one readable line regardless)."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where, self.object, self.field, self.message]
        return ": ".join(_shown(part) for part in parts if part)


MESSAGE_CHARACTERS = 1000
"""At most this many characters of each part of a problem are shown."""
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]} | {
    c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}
"""Control characters and bidirectional overrides (which reorder what a terminal shows), escaped."""


def _shown(text: str) -> str:
    text = text.translate(_CONTROL)
    if len(text) <= MESSAGE_CHARACTERS:
        return text
    half = MESSAGE_CHARACTERS // 2
    return f"{text[:half]}...({len(text) - 2 * half} characters left out)...{text[-half:]}"


class InputError(KubeplayError):
    """Invalid manifests or inventory. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ManifestError(InputError):
    pass


class InventoryError(InputError):
    pass


class ConnectionFailed(KubeplayError):
    def __init__(self, minion: str, reason: str) -> None:
        self.minion = minion
        self.reason = reason
        super().__init__(f"{minion}: {reason}")


class UntrustedHostKey(ConnectionFailed):
    """A security event, not a network failure: the run stops for the minion and exits 1."""


class HostKeyChanged(UntrustedHostKey):
    pass


class HostKeyRevoked(UntrustedHostKey):
    pass


class MinionError(KubeplayError):
    def __init__(self, minion: str, reason: str) -> None:
        self.minion = minion
        self.reason = reason
        super().__init__(f"{minion}: {reason}")


class DockerError(KubeplayError):
    """The message is Docker's own explanation."""


class DockerNotFound(DockerError):
    pass


class DockerConflict(DockerError):
    pass


class Locked(KubeplayError):
    def __init__(self, minion: str, holder: str, waited: int) -> None:
        self.minion = minion
        self.holder = holder
        """Who holds the lock, as its record names it."""
        self.waited = waited
        gave_up = f"gave up after {waited} s (--lock-timeout)" if waited else "did not wait (--lock-timeout 0)"
        super().__init__(f"{minion} is locked by {holder}: {gave_up}, nothing was changed")


class LabError(KubeplayError):
    pass
