"""Re-record the iptables fixtures of tests/unit/test_proxy.py in scratch network namespaces (run as root).

    python tests/unit/data/iptables/record.py

One fresh namespace per backend (iptables-nft, iptables-legacy), holding a few Docker-like and user rules, then
the steps the test module's docstring describes, each saved with that backend's iptables-save. Every rule loaded
is kubeplay's own restore text, so the fixtures show what real iptables makes of it. The namespaces are removed
at the end; nothing outside them is touched.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[3]))

from kubeplay.proxy import rules as proxy  # noqa: E402
from tests.unit.test_proxy import scenario  # noqa: E402

FOREIGN = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 2222 -m comment --comment "user rule" -j ACCEPT
-A FORWARD -o docker0 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.21.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
"""


class Namespace:
    def __init__(self, name: str, backend: str) -> None:
        self.name, self.backend = name, backend

    def __enter__(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        return self

    def __exit__(self, *_: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=True)

    def run(self, *args: str, suffix: str = "", stdin: str = "") -> str:
        """iptables-<backend><suffix> args, in the namespace."""
        argv: Sequence[str] = ["ip", "netns", "exec", self.name, f"iptables-{self.backend}{suffix}", *args]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def save(self, *args: str) -> str:
        return self.run(*args, suffix="-save")

    def restore(self, text: str, *args: str) -> None:
        self.run(*args, suffix="-restore", stdin=text)


def record(backend: str, files: Sequence[str]) -> None:
    prefix = "nft" if backend == "nft" else "legacy"
    out: dict[str, str] = {}
    with Namespace(f"kp-fixtures-{prefix}", backend) as ns:
        ns.restore(FOREIGN)
        out["foreign-only.save"] = ns.save()
        ns.restore(proxy.to_restore(scenario(1), proxy.parse_save(out["foreign-only.save"])), "--noflush")
        out["step1.save"] = ns.save()
        out["step1-to-step2.restore"] = proxy.to_restore(scenario(2), proxy.parse_save(out["step1.save"]))
        ns.restore(out["step1-to-step2.restore"], "--noflush")
        out["step2.save"] = ns.save()
        ns.run("-t", "nat", "-A", "OUTPUT", "-d", "198.51.100.1/32", "-j", proxy.SERVICES_CHAIN)
        out["step2-user-jump.save"] = ns.save()
        ns.run("-t", "nat", "-D", "OUTPUT", "-d", "198.51.100.1/32", "-j", proxy.SERVICES_CHAIN)
        ns.run(
            "-D",
            "FORWARD",
            "-m",
            "comment",
            "--comment",
            "kubeplay services without endpoints",
            "-j",
            proxy.FILTER_CHAIN,
        )
        ns.run(
            "-I", "FORWARD", "1", "-s", "203.0.113.0/24", "-m", "comment", "--comment", "user top rule", "-j", "DROP"
        )
        out["step2-missing-jump-counters.save"] = ns.save("-c")
        ns.restore(
            proxy.to_restore(proxy.Ruleset(), proxy.parse_save(out["step2-missing-jump-counters.save"])), "--noflush"
        )
        out["after-teardown.save"] = ns.save()
    for name in files:
        (HERE / f"{prefix}-{name}").write_text(out[name])
        print(f"{prefix}-{name}")


def main() -> None:
    record(
        "nft",
        [
            "foreign-only.save",
            "step1.save",
            "step1-to-step2.restore",
            "step2.save",
            "step2-missing-jump-counters.save",
            "after-teardown.save",
        ],
    )
    record("legacy", ["step1.save", "step2.save", "step2-user-jump.save"])


if __name__ == "__main__":
    main()
