"""paramiko, imported without what kubeplay never uses: its optional ``invoke``, and the rest of its ``__init__``.

paramiko.config imports invoke when it is installed, only to run ssh_config's ``Match exec`` commands. kubeplay
reads ~/.ssh/config itself (kubeplay.connectors.sshconfig) and never uses paramiko's, but invoke's import (with
asyncio and unittest.mock under it) was about a third of paramiko's, on every command that connects. So invoke is
hidden while paramiko is imported, as if it were not installed, and left importable afterwards.

paramiko's ``__init__`` imports every module of the package (the SFTP server, the agent, GSS-API, ...) and asks
importlib.metadata for its own version (which imports email, zipfile, csv, ...). Here the package is made without
running its ``__init__`` at first: only the modules a client needs are imported (``PARTS``), with the names
paramiko's own modules take from the package (``LATER``'s names when first asked for); the version is read from
the package's ``.dist-info`` folder. The first time anything asks the package for another name (docker-py's
``paramiko.SSHConfig``, say), the real ``__init__`` runs, so ``paramiko`` then is the whole package. Where paramiko
is laid out otherwise (no such folder, a module or a name missing), a plain ``import paramiko`` is done instead.

What the client parts still do that kubeplay does not need (measured for issue 13, left as it is: each could only be
avoided by patching paramiko's classes or modules while they are imported): Transport's class body runs its X25519
and ML-KEM availability checks twice each, generating four X25519 keys and two ML-KEM ones (4.8 M instructions,
~1 ms; the algorithms offered are exactly a plain import's, tests/unit/test_sshlib.py); transport.py imports the
SFTP client and the server side (~1.2 ms); client.py imports inspect for one isclass, which cryptography's
serialization.ssh (paramiko.pkey's) imports anyway through dataclasses.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

PARTS = {
    "paramiko.client": ("SSHClient", "MissingHostKeyPolicy"),
    "paramiko.transport": ("Transport",),
    "paramiko.channel": ("Channel",),
    "paramiko.pkey": ("PKey",),
    "paramiko.ssh_exception": ("SSHException", "ChannelException"),
    "paramiko.rsakey": ("RSAKey",),
    "paramiko.ecdsakey": ("ECDSAKey",),
    "paramiko.ed25519key": ("Ed25519Key",),
}
"""The modules imported at first and the names taken from each onto the package: what kubeplay uses, and the key
classes paramiko.pkey takes from the package."""

LATER = {"ProxyCommand": "paramiko.proxy"}
"""Names kubeplay uses only for some minions, taken from their module the first time they are asked for, without the
rest of the ``__init__``: paramiko.proxy imports subprocess (with signal and locale, ~3 ms), which only a minion
behind a ProxyCommand needs."""


@contextmanager
def hidden(module: str) -> Iterator[None]:
    """Imports of ``module`` fail with ImportError within the block (unless it is imported already)."""
    hide = module not in sys.modules
    if hide:
        sys.modules[module] = None  # type: ignore[assignment]  # None in sys.modules: import raises ImportError
    try:
        yield
    finally:
        if hide and sys.modules.get(module, ...) is None:
            del sys.modules[module]


def import_paramiko() -> ModuleType:
    """paramiko, as described above (the module already imported, when it is), its log silenced: kubeplay reports
    what fails itself (paramiko's threads would log their errors to stderr besides)."""
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    if "paramiko" in sys.modules:
        return sys.modules["paramiko"]
    with hidden("invoke"):
        try:
            return _client_parts()
        except Exception:  # laid out otherwise: forget what was imported of it, and import it whole
            for name in [n for n in sys.modules if n == "paramiko" or n.startswith("paramiko.")]:
                del sys.modules[name]
            return importlib.import_module("paramiko")


def _client_parts() -> ModuleType:
    """The package, its ``__init__`` not run yet (see the module's docstring). Raises when paramiko is laid out
    otherwise than this expects."""
    spec = importlib.util.find_spec("paramiko")
    if spec is None or spec.origin is None or not spec.submodule_search_locations or spec.loader is None:
        raise ImportError("paramiko is not a package on the path")
    package = importlib.util.module_from_spec(spec)
    folder = Path(spec.origin).parent
    vars(package)["__version__"] = _version(folder)  # (what transport.py puts in its SSH banner)
    completed = threading.Lock()

    def __getattr__(name: str) -> Any:  # the first name not set here: run paramiko's own __init__, once
        if (folder / f"{name}.py").is_file():  # a module not imported yet (``from paramiko import util``)
            raise AttributeError(name)
        if name in LATER and "__getattr__" in vars(package):
            value = getattr(importlib.import_module(LATER[name]), name)
            setattr(package, name, value)
            return value
        with completed:
            if "__getattr__" in vars(package):
                del package.__getattr__
                assert spec is not None and spec.loader is not None
                spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]  # (PEP 562)
    sys.modules["paramiko"] = package
    for module, names in PARTS.items():
        part = importlib.import_module(module)
        for name in names:
            setattr(package, name, getattr(part, name))
    keys = [package.RSAKey, package.Ed25519Key, package.ECDSAKey]
    vars(package)["key_classes"] = keys  # (paramiko.pkey takes them, as paramiko's __init__ lists them)
    return package


def _version(package_dir: Path) -> str:
    """The version in the one ``paramiko-VERSION.dist-info`` folder beside the package, as its METADATA says.
    Raises LookupError when there is none, or more than one. (The folder is found by its name's start and end:
    Path.glob compiles a pattern for it, 2.5 times the work.)"""
    found = [n for n in os.listdir(package_dir.parent) if n.startswith("paramiko-") and n.endswith(".dist-info")]
    if len(found) != 1:
        raise LookupError(f"{len(found)} paramiko .dist-info folders")
    for line in (package_dir.parent / found[0] / "METADATA").read_text(encoding="utf-8").splitlines():
        if line.startswith("Version: "):
            return line.removeprefix("Version: ").strip()
        if not line:
            break
    raise LookupError("no version in paramiko's METADATA")


if TYPE_CHECKING:
    import paramiko
else:
    paramiko = import_paramiko()

__all__ = ["paramiko"]
