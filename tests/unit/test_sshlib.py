"""kubeplay.connectors.sshlib: paramiko's client parts without the rest of its __init__, the whole package the
moment anything asks for more, and a plain import where paramiko is laid out otherwise. Each case runs in a fresh
interpreter (what is imported is the point)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter of this checkout; it prints one JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(done.stdout)
    return found


USED = ["SSHClient", "MissingHostKeyPolicy", "Transport", "Channel", "PKey", "ProxyCommand", "SSHException"]


def test_the_client_parts_are_imported_with_paramikos_version_and_without_the_rest() -> None:
    seen = run(
        """
        import json, sys
        before = set(sys.modules)
        from kubeplay.connectors.sshlib import paramiko
        new = set(sys.modules) - before
        import importlib.metadata
        print(json.dumps({
            "new": sorted(n for n in new if n in ("importlib.metadata", "paramiko.sftp_server", "invoke", NOT_YET)),
            "version": paramiko.__version__,
            "metadata": importlib.metadata.version("paramiko"),
            "banner": paramiko.Transport._CLIENT_ID,
            "used": [hasattr(paramiko, n) for n in USED],
            "keys": [k.__name__ for k in paramiko.key_classes],
        }))
        """.replace("USED", repr(USED)).replace("NOT_YET", '"subprocess"')
    )
    assert seen["new"] == []
    assert seen["version"] == seen["metadata"]
    assert seen["banner"] == f"paramiko_{seen['metadata']}"
    assert seen["used"] == [True] * len(USED)
    assert seen["keys"] == ["RSAKey", "Ed25519Key", "ECDSAKey"]


def test_any_other_name_makes_it_the_whole_package() -> None:
    seen = run(
        """
        import json, sys
        from kubeplay.connectors.sshlib import paramiko
        from paramiko import SSHConfig, AutoAddPolicy  # (docker-py's ssh adapter asks for these)
        ours = sorted(n for n in dir(paramiko) if not n.startswith("_"))
        for name in [n for n in sys.modules if n == "paramiko" or n.startswith("paramiko.")]:
            del sys.modules[name]
        import paramiko as plain
        print(json.dumps({"ours": ours, "plain": sorted(n for n in dir(plain) if not n.startswith("_")),
                          "config": SSHConfig.__module__, "policy": AutoAddPolicy.__name__}))
        """
    )
    assert seen["ours"] == seen["plain"]
    assert (seen["config"], seen["policy"]) == ("paramiko.config", "AutoAddPolicy")


def test_a_paramiko_laid_out_otherwise_is_imported_whole() -> None:
    seen = run(
        """
        import json, sys
        from kubeplay.connectors import sshlib
        for name in [n for n in sys.modules if n == "paramiko" or n.startswith("paramiko.")]:
            del sys.modules[name]
        def no_version(folder):
            raise LookupError("no .dist-info")
        sshlib._version = no_version
        paramiko = sshlib.import_paramiko()
        print(json.dumps({"whole": "__getattr__" not in vars(paramiko) and "paramiko.sftp_server" in sys.modules,
                          "version": paramiko.__version__, "client": paramiko.SSHClient.__module__}))
        """
    )
    assert seen["whole"] is True
    assert seen["client"] == "paramiko.client" and seen["version"]
