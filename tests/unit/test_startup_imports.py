"""What an apply that changes nothing loads, in a fresh interpreter: its start-up is most of a no-op's time, so PyYAML
(the manifest is JSON, the inventory INI), rich's console (the lines go to a pipe), the executor (no pod changes)
and what only other commands use stay unloaded; and `validate` loads none of the later stages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_ON_A_NO_OP = [
    "yaml",
    "rich.console",
    "rich.table",
    "jinja2",
    "docker",
    "kubeplay.kubelet.execute",
    "concurrent.futures",  # (kubeplay.parallel: plain threads)
    "difflib",  # (hints for mistakes, --check's diff)
    "gzip",  # (large rule sets)
    "subprocess",  # (paramiko.proxy: a ProxyCommand)
    "signal",  # (connectors.faults: when a fault fires)
    "decimal",  # (quantities: when a manifest or the inventory holds one)
    "datetime",  # (probes, the run log; observe and the lock write times with time.gmtime)
    "glob",  # (connectors.sshconfig: an Include)
]

APPLY = """
import json, sys
from kubeplay import reconcile
from kubeplay.cli import early, main
from tests.unit.fakes import FakeConnection, FakeIptables

manifests, hosts, tables = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
minions = {name: FakeConnection(name, iptables=FakeIptables(tables.get(name, {}))) for name in ("m1", "m2")}
reconcile.connector = early.connector = lambda *args: lambda minion: minions[minion.name]  # (apply connects early)
code = main(["apply", "-f", manifests, "-i", hosts, "--yes", "-p", "shop", "--allow-empty"])
print(code, json.dumps({name: minion.iptables.tables for name, minion in minions.items()}))
print([name for name in sys.argv[4:] if name in sys.modules])
"""
"""An apply on two in-memory minions whose iptables hold the tables given (JSON): its exit code and the tables
after it, then which of the modules named were loaded."""

VALIDATE = """
import sys
from kubeplay.cli import main

code = main(["validate", "-f", sys.argv[1], "-i", sys.argv[2], "-p", "shop"])
later = ("kubeplay.kubelet", "kubeplay.planner.pods", "kubeplay.proxy.plan", "kubeplay.proxy.sync", "paramiko", "rich")
later += ("kubeplay.cli.views", "concurrent.futures", "difflib", "dataclasses")
print(code, sorted(m for m in sys.modules if m.startswith(later)))
"""


def run(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def inputs(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "shop").mkdir()
    (tmp_path / "hosts.ini").write_text("[minions]\nm1\nm2\n\n[all:vars]\nkubeplay_pod_network = false\n")
    return str(tmp_path / "shop"), str(tmp_path / "hosts.ini")


def test_an_apply_that_changes_nothing_loads_neither_yaml_nor_riches_console_nor_the_executor(tmp_path: Path) -> None:
    manifests, hosts = inputs(tmp_path)
    first = run(APPLY, manifests, hosts, "{}")  # (writes the proxy rules)
    tables = first[-2].partition(" ")[2]
    out = run(APPLY, manifests, hosts, tables, *NOT_ON_A_NO_OP)
    assert out[:5] == [
        "PLAN for project shop: nothing to change, the cluster matches the manifests",
        "RECAP",
        "MINION  OK  CHANGED  FAILED  UNREACHABLE",
        "m1      0   0        0       0          ",
        "m2      0   0        0       0          ",
    ]
    assert out[5:] == [f"0 {tables}", "[]"]


def test_validate_loads_the_inputs_only(tmp_path: Path) -> None:
    manifests, hosts = inputs(tmp_path)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    pod["spec"] = {"containers": [{"name": "web", "image": "nginx"}]}
    (Path(manifests) / "web.json").write_text(json.dumps(pod))
    out = run(VALIDATE, manifests, hosts)
    assert out[-1] == "0 []"


LOAD = """
import sys
from kubeplay.manifests import load_manifests

print(sorted(pod.name for pod in load_manifests([sys.argv[1]]).pods), "yaml" in sys.modules)
"""


def test_a_yaml_file_of_json_documents_is_read_without_pyyaml(tmp_path: Path) -> None:
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}} for name in ("a", "b")]
    for pod in pods:
        pod["spec"] = {"containers": [{"name": "web", "image": "nginx"}]}
    (tmp_path / "pods.yaml").write_text("---\n" + "\n---\n".join(json.dumps(pod, indent=2) for pod in pods))
    assert run(LOAD, str(tmp_path / "pods.yaml")) == ["['a', 'b'] False"]


def test_an_ini_inventory_without_a_suffix_is_read_without_pyyaml(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"  # (as `kubeplay lab up` writes it: its values hold ":")
    hosts.write_text("[minions]\nm1 ansible_host=10.1.1.1\n\n[all:vars]\nlab_registry=10.1.1.1:5000\n")
    script = "import sys\nfrom kubeplay.inventory import load_inventory\n"
    script += "print(load_inventory(sys.argv[1]).minion('m1').host, 'yaml' in sys.modules)"
    assert run(script, str(hosts)) == ["10.1.1.1 False"]


def test_a_yaml_manifest_in_the_plain_block_style_is_read_without_pyyaml(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n    - name: web\n      image: nginx\n"
    (tmp_path / "pod.yaml").write_text(pod)
    assert run(LOAD, str(tmp_path / "pod.yaml")) == ["['a'] False"]
    (tmp_path / "pod.yaml").write_text(pod + "      ports: [{containerPort: 80}]\n")  # (flow style on one line)
    assert run(LOAD, str(tmp_path / "pod.yaml")) == ["['a'] False"]
    (tmp_path / "pod.yaml").write_text(pod.replace("nginx", "&image nginx"))  # (an anchor: PyYAML reads it)
    assert run(LOAD, str(tmp_path / "pod.yaml")) == ["['a'] True"]
