"""paramiko, imported without its optional ``invoke``.

paramiko.config imports invoke when it is installed, only to run ssh_config's ``Match exec`` commands. kubeplay
reads ~/.ssh/config itself (kubeplay.connectors.sshconfig) and never uses paramiko's, but invoke's import (with
asyncio and unittest.mock under it) was about a third of paramiko's, on every command that connects. So invoke is
hidden while paramiko is imported, as if it were not installed, and left importable afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


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


with hidden("invoke"):
    import paramiko

__all__ = ["paramiko"]
