"""Host paths by consent: which folders of a minion a pod may bind mount (``hostPath``, v1beta1 ``hostDir``).

A bind mount from the minion is allowed only under kubeplay's data folder (``DATA_FOLDER``) or a folder the
inventory lists for that minion in ``kubeplay_host_paths``. A path at or under ``PRIVILEGED_PATHS`` (the
minion's configuration, kernel interfaces, devices, Docker's socket and data), or a parent of one of them (``/``,
``/var``, ``/run``), gives a container the minion itself: it also needs ``kubeplay_allow_privileged``.

Paths are compared as written, after normalising (``//`` and ``/./`` removed; ``..`` is refused when the manifest
is read). What a path's symlinks point to on the minion is not checked: consenting to a folder trusts its content.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

DATA_FOLDER = "/var/lib/kubeplay/data"
"""Pods may always bind mount from under this folder of a minion: kubeplay's own place for pod data."""
PRIVILEGED_PATHS = (
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/var/lib/docker",
)
"""Host paths that hand a container the minion: these, anything under them and every parent of them."""


def normal(path: str) -> str:
    """``path`` without ``//``, ``/./`` and a trailing ``/`` (an absolute path without ``..``)."""
    return "/" + posixpath.normpath(path).lstrip("/")


def within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def privileged_path(path: str) -> bool:
    path = normal(path)
    return any(within(path, p) or within(p, path) for p in PRIVILEGED_PATHS)


def host_path_refusal(path: str, host_paths: Sequence[str], allow_privileged: bool) -> str | None:
    """Why a minion with these settings refuses a bind mount of ``path``, or None when it consents."""
    path = normal(path)
    needs = []
    if not any(within(path, folder) for folder in (DATA_FOLDER, *host_paths)):
        needs.append("kubeplay_host_paths")
    privileged = privileged_path(path)
    if privileged and not allow_privileged:
        needs.append("kubeplay_allow_privileged")
    if not needs:
        return None
    what = "privileged hostPath" if privileged else "hostPath"
    return f"{what} {path} not allowed ({', '.join(needs)})"
