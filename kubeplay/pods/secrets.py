"""Environment values whose names look secret: never shown unless asked, never kept in clear in a label.

A variable looks secret when its name contains PASSWORD, TOKEN, SECRET or KEY, in any case (``DB_PASSWORD``,
``api_key``, ``GITHUB_TOKEN``). Its value is shown as ``MASK`` by ``--diff`` and ``-o json`` unless
``--show-secrets``, and the spec kubeplay keeps in the infra container's ``kubeplay.spec`` label (and hashes into
``kubeplay.spec-hash``) holds a fingerprint of it instead: PBKDF2-SHA256 of the value, salted with the container's
and the variable's names, slow enough that guessing a weak value from a label (which tools list more freely than
a container's environment) costs work, cheap enough (about 20 ms, once per value per run) that a no-op apply of
many pods stays quick. The fingerprint changes
when the value does, so a changed secret still changes the hash (the pod is replaced) and ``--diff`` still says
which variable changed, without either value.
"""

from __future__ import annotations

import functools
import hashlib

SECRET_WORDS = ("PASSWORD", "TOKEN", "SECRET", "KEY")
MASK = "<secret: hidden, --show-secrets shows it>"
FINGERPRINT_PREFIX = "pbkdf2-sha256:"
FINGERPRINT_ITERATIONS = 20_000


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


@functools.lru_cache(maxsize=4096)
def fingerprint(container: str, name: str, value: str) -> str:
    """What the spec label keeps instead of a secret value: stable for the same value, different for another."""
    salt = f"kubeplay.spec/{container}/{name}".encode()
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), salt, FINGERPRINT_ITERATIONS)
    return FINGERPRINT_PREFIX + digest[:16].hex()
