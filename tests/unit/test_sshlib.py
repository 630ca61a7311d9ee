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


def test_the_algorithms_offered_and_their_order_are_those_of_a_plain_import() -> None:
    """What a client offers the server (key exchanges, host key types, ciphers, MACs, compression, public key
    signatures) and what it knows how to run, as the client parts imported here and as `import paramiko` has it:
    negotiation picks the first of the client's list the server has, so the same lists negotiate the same."""
    seen = run(
        """
        import json, socket, sys
        def offered(paramiko):
            ours, theirs = socket.socketpair()
            transport = paramiko.Transport(ours)
            options = transport.get_security_options()
            found = {name: list(getattr(options, name)) for name in ("kex", "key_types", "ciphers", "digests")}
            found["compression"] = list(options.compression)
            found["pubkeys"] = list(transport.preferred_pubkeys)
            for table in ("_kex_info", "_cipher_info", "_mac_info", "_key_info", "_compression_info"):
                found[table] = sorted(getattr(paramiko.Transport, table))
            found["transport"] = paramiko.Transport.__module__
            transport.close(); theirs.close()
            return found
        from kubeplay.connectors.sshlib import paramiko
        parts = offered(paramiko)
        whole = "__getattr__" not in vars(paramiko)
        for name in [n for n in sys.modules if n == "paramiko" or n.startswith("paramiko.")]:
            del sys.modules[name]
        import paramiko as plain
        print(json.dumps({"parts": parts, "plain": offered(plain), "whole": whole}))
        """
    )
    assert seen["whole"] is False  # (the client parts were what was compared)
    assert seen["parts"] == seen["plain"]
    parts = seen["parts"]
    assert isinstance(parts, dict) and "curve25519-sha256@libssh.org" in parts["kex"]  # (its check at import ran)
