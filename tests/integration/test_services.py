"""Services end to end on the lab: real traffic to portal IPs through the iptables rules `kubeplay apply` writes.

Clients are throwaway busybox containers started on a minion through its own docker socket, so every request
goes through that minion's nat PREROUTING, its routes and the pod network like a pod's would. The web pods are
held on minion-1 and minion-2 (nodeSelector role=web, set in a copy of the lab's inventory) so requests from
minion-3 always cross minions.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeplay.connectors.ssh import SSHConnection, SSHOptions
from kubeplay.inventory.load import load_inventory
from kubeplay.proxy import rules as proxy
from tests.integration.conftest import PROJECT, SEED, Lab, kubeplay

pytestmark = pytest.mark.integration

CLIENT_MINION = 2
"""Index of minion-3: no web pod runs there."""


# --- helpers --------------------------------------------------------------------------------------------------


def minion_run(lab: Lab, index: int, *argv: str, stdin: bytes | None = None) -> str:
    """A program on a minion over SSH: the same iptables (backend and PATH) kubeplay uses."""
    conn = SSHConnection(
        load_inventory(str(lab.inventory)).minions[index], SSHOptions(known_hosts=(str(lab.layout.known_hosts),))
    )
    try:
        result = conn.run(argv, stdin=stdin)
    finally:
        conn.close()
    assert result.ok, f"{' '.join(argv)}: {result.stderr}"
    return result.stdout


def remove_kubeplay_network(lab: Lab) -> None:
    """kubeplay's chains, jumps and routes off every minion (kubeplay's own restore text does it)."""
    for i in range(lab.size):
        restore = proxy.to_restore(proxy.Ruleset(), proxy.parse_save(minion_run(lab, i, "iptables-save")))
        if restore:
            minion_run(lab, i, "iptables-restore", "--noflush", stdin=restore.encode())
        minion_run(lab, i, "ip", "route", "flush", "proto", "107")


def rules(lab: Lab, index: int) -> list[str]:
    """A minion's iptables as iptables-save prints it, without timestamps and counters."""
    lines = minion_run(lab, index, "iptables-save").splitlines()
    return [re.sub(r"\[\d+:\d+\]$", "", line) for line in lines if not line.startswith("#")]


def foreign_rules(lab: Lab, index: int) -> list[str]:
    """Every rule and chain that is not kubeplay's: Docker's and the user's."""
    return [line for line in rules(lab, index) if "KUBEPLAY" not in line]


def client(lab: Lab, index: int, script: str) -> str:
    """Run a shell script in a throwaway busybox container on a minion; its output."""
    api = lab.docker(index)
    image = f"{lab.layout.registry}/kubeplay/httpd:latest"
    if not api.images(name=image):
        api.pull(image)
    created = api.create_container(image, entrypoint=["sh", "-c", script], labels={"kubeplay.test": "client"})
    try:
        api.start(created["Id"])
        api.wait(created["Id"], timeout=120)
        return str(api.logs(created["Id"]).decode())
    finally:
        api.remove_container(created["Id"], force=True)


def http_names(lab: Lab, ip: str, port: int, requests: int, index: int = CLIENT_MINION) -> list[str]:
    """The answer (the pod's hostname, i.e. its name) to each of ``requests`` HTTP GETs, "" for a failed one."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} {port} | tail -n 1"
    script = f'for i in $(seq {requests}); do echo "answer=$({request})"; done'
    lines = client(lab, index, script).splitlines()
    return [line.removeprefix("answer=").strip() for line in lines if line.startswith("answer=")]


def web_inventory(lab: Lab, folder: Path) -> Path:
    """The lab's inventory with minion-1 and minion-2 labelled role=web."""
    text = lab.inventory.read_text()
    for name in ("minion-1", "minion-2"):
        text = re.sub(rf"^({name} .*)$", r"""\1 kubeplay_labels='{"role": "web"}'""", text, flags=re.M)
    path = folder / "inventory.ini"
    path.write_text(text)
    return path


def web_manifest(folder: Path, *, affinity: str = "None", replicas: int = 3, extra: str = "") -> Path:
    path = folder / "web.yaml.j2"
    path.write_text(f"""\
apiVersion: v1
kind: ReplicationController
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      nodeSelector: {{role: web}}
      containers:
        - name: httpd
          image: "{{{{ lab_registry }}}}/kubeplay/httpd"
          ports: [{{name: http, containerPort: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, labels: {{tier: front}}}}
spec:
  selector: {{app: web}}
  sessionAffinity: {affinity}
  ports: [{{port: 8080, targetPort: http}}]
{extra}""")
    return path


def apply(manifest: Path, inventory: Path, *more: str) -> dict[str, Any]:
    run = kubeplay("apply", "-f", str(manifest), "-y", "-p", PROJECT, "-o", "json", *more, inventory=inventory)
    assert run.code == 0, run.stderr
    return run.json()


def portal(manifest: Path, inventory: Path, service: str) -> str:
    run = kubeplay("get", "services", "-f", str(manifest), "-o", "json", inventory=inventory)
    assert run.code == 0, run.stderr
    items = {item["id"]: item for item in json.loads(run.stdout)["items"]}
    return str(items[service]["portalIP"])


def pod_names(lab: Lab, prefix: str) -> set[str]:
    return {
        str(c["Labels"]["kubeplay.pod"])
        for cs in lab.kubeplay_containers().values()
        for c in cs
        if str(c["Labels"]["kubeplay.pod"]).startswith(prefix)
    }


@pytest.fixture
def net_lab(lab: Lab) -> Iterator[Lab]:
    remove_kubeplay_network(lab)
    yield lab
    lab.clean()
    remove_kubeplay_network(lab)


# --- the tests ------------------------------------------------------------------------------------------------


def test_the_portal_ip_reaches_all_three_pods_from_a_container_on_another_minion(net_lab: Lab, tmp_path: Path) -> None:
    inventory, manifest = web_inventory(net_lab, tmp_path), web_manifest(tmp_path)
    apply(manifest, inventory)
    pods = pod_names(net_lab, "web-")
    assert len(pods) == 3 and not net_lab.kubeplay_containers()["minion-3"]
    answers = http_names(net_lab, portal(manifest, inventory, "web"), 8080, 40)
    assert len(answers) == 40 and set(answers) == pods


def test_client_ip_affinity_sticks_to_one_pod(net_lab: Lab, tmp_path: Path) -> None:
    inventory, manifest = web_inventory(net_lab, tmp_path), web_manifest(tmp_path, affinity="ClientIP")
    apply(manifest, inventory)
    answers = http_names(net_lab, portal(manifest, inventory, "web"), 8080, 20)
    assert len(set(answers)) == 1 and answers[0] in pod_names(net_lab, "web-")


def test_killing_a_pod_and_applying_moves_traffic_to_the_rest(net_lab: Lab, tmp_path: Path) -> None:
    inventory, manifest = web_inventory(net_lab, tmp_path), tmp_path / "pods.yaml.j2"
    pods = [
        f"""apiVersion: v1
kind: Pod
metadata: {{name: web-{n}, labels: {{app: web}}}}
spec:
  restartPolicy: Never
  nodeSelector: {{role: web}}
  containers:
    - name: httpd
      image: "{{{{ lab_registry }}}}/kubeplay/httpd"
      ports: [{{name: http, containerPort: 80}}]
"""
        for n in ("a", "b", "c")
    ]
    service = web_manifest(tmp_path).read_text().split("---\n")[1]
    manifest.write_text("---\n".join([*pods, service]))
    apply(manifest, inventory)
    ip = portal(manifest, inventory, "web")
    assert set(http_names(net_lab, ip, 8080, 30)) == {"web-a", "web-b", "web-c"}
    for i in range(net_lab.size):
        api = net_lab.docker(i)
        for c in api.containers(filters={"label": ["kubeplay.pod=web-a", "kubeplay.container=httpd"]}):
            api.kill(c["Id"])
    assert "" in http_names(net_lab, ip, 8080, 30), "before the apply, a third of the requests go to the dead pod"
    apply(manifest, inventory)
    answers = http_names(net_lab, ip, 8080, 30)
    assert "" not in answers, "every request must be answered by a live pod"
    assert set(answers) == {"web-b", "web-c"}


def in_pod(lab: Lab, pod: str, script: str) -> str:
    """A shell script run inside a pod's container (in the pod's network namespace); its output."""
    for i in range(lab.size):
        api = lab.docker(i)
        for c in api.containers(filters={"label": [f"kubeplay.pod={pod}", "kubeplay.container=httpd"]}):
            return str(api.exec_start(api.exec_create(c["Id"], ["sh", "-c", script])).decode())
    raise AssertionError(f"no running container of pod {pod}")


def test_a_pod_reaches_its_own_service_hairpin(net_lab: Lab, tmp_path: Path) -> None:
    """The only endpoint is the asking pod itself: after DNAT its packet has source == destination, which only
    the hairpin masquerade in KUBEPLAY-POSTROUTING turns into a connection the pod can answer."""
    inventory, manifest = web_inventory(net_lab, tmp_path), web_manifest(tmp_path, replicas=1)
    apply(manifest, inventory)
    (pod,) = pod_names(net_lab, "web-")
    ip = portal(manifest, inventory, "web")
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} 8080 | tail -n 1"
    answers = in_pod(net_lab, pod, f'for i in 1 2 3; do echo "answer=$({request})"; done').splitlines()
    assert [a.removeprefix("answer=").strip() for a in answers if a.startswith("answer=")] == [pod] * 3


def test_a_service_with_no_endpoints_refuses_at_once(net_lab: Lab, tmp_path: Path) -> None:
    inventory = web_inventory(net_lab, tmp_path)
    manifest = tmp_path / "lonely.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: lonely}\n"
        "spec: {selector: {app: nobody}, ports: [{port: 80, targetPort: 80}]}\n"
    )
    apply(manifest, inventory)
    ip = portal(manifest, inventory, "lonely")
    out = client(net_lab, CLIENT_MINION, f"nc -w 10 {ip} 80 </dev/null; echo exit=$?")
    assert "Connection refused" in out and "exit=1" in out, out  # refused (a connect that timed out says so)


def test_the_users_rules_and_dockers_rules_survive_every_apply(net_lab: Lab, tmp_path: Path) -> None:
    inventory = web_inventory(net_lab, tmp_path)
    user_rules = [
        (
            "nat",
            "-A",
            "PREROUTING",
            "-d",
            "192.0.2.1/32",
            "-p",
            "tcp",
            "-m",
            "tcp",
            "--dport",
            "9",
            "-m",
            "comment",
            "--comment",
            "users own",
            "-j",
            "ACCEPT",
        ),
        ("filter", "-I", "FORWARD", "-s", "192.0.2.2/32", "-m", "comment", "--comment", "users own", "-j", "DROP"),
    ]
    for i in range(net_lab.size):
        for table, *rule in user_rules:
            minion_run(net_lab, i, "iptables", "-t", table, *rule)
    try:
        before = {i: foreign_rules(net_lab, i) for i in range(net_lab.size)}
        assert all(any(":DOCKER " in line for line in lines) for lines in before.values())
        assert all(sum("users own" in line for line in lines) == 2 for lines in before.values())
        second = (
            "---\napiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {selector: {app: web}, "
            "ports: [{port: 81, targetPort: http}]}\n"
        )
        empty = tmp_path / "empty.yaml"
        empty.write_text("")
        # one service, two, one again (each written just before it is applied), then none: the empty manifest
        # means what it says, remove the project's services
        for extra in ("", second, "", None):
            manifest = empty if extra is None else web_manifest(tmp_path, extra=extra)
            apply(manifest, inventory, *(("--allow-empty",) if extra is None else ()))
            for i in range(net_lab.size):
                assert foreign_rules(net_lab, i) == before[i], f"minion-{i + 1}: a rule not kubeplay's changed"
        leftovers = [
            line
            for i in range(net_lab.size)
            for line in rules(net_lab, i)
            if "KUBEPLAY-SVC-" in line or "KUBEPLAY-SEP-" in line or "has no endpoints" in line
        ]
        assert leftovers == [], "with no services left, no service's chain or rule may stay"
    finally:
        for i in range(net_lab.size):
            for table, _, chain, *spec in user_rules:
                minion_run(net_lab, i, "iptables", "-t", table, "-D", chain, *spec)


def test_a_second_apply_writes_no_rules(net_lab: Lab, tmp_path: Path) -> None:
    inventory, manifest = web_inventory(net_lab, tmp_path), web_manifest(tmp_path, affinity="ClientIP")
    first = apply(manifest, inventory)
    assert "proxy rules" in [r["what"] for r in first["network_results"] if r["minion"] == "minion-3"]
    saved = {i: rules(net_lab, i) for i in range(net_lab.size)}
    second = apply(manifest, inventory)
    assert second["network_results"] == [] and second["plan"] == []
    assert all(s["rules_in_sync"] and not s["routes"] for s in second["network"].values())
    assert all(row["changed"] == 0 for row in second["recap"].values())
    assert {i: rules(net_lab, i) for i in range(net_lab.size)} == saved


def test_the_seed_redis_answers_ping_through_its_portal_and_a_pod_finds_it_by_env_and_name(
    net_lab: Lab, tmp_path: Path
) -> None:
    service = tmp_path / "redis-service.json"
    service.write_text(
        json.dumps(
            {
                "id": "redis",
                "kind": "Service",
                "apiVersion": "v1beta1",
                "port": 6379,
                "containerPort": 6379,
                "selector": {"name": "redis"},
            }
        )
    )
    finder = tmp_path / "finder.json"
    finder.write_text(
        json.dumps(
            {
                "id": "finder",
                "kind": "Pod",
                "apiVersion": "v1beta1",
                "labels": {"name": "finder"},
                "desiredState": {
                    "manifest": {
                        "version": "v1beta1",
                        "id": "finder",
                        "containers": [
                            {
                                "name": "main",
                                "image": f"{net_lab.layout.registry}/kubeplay/httpd",
                                "command": ["sleep", "3600"],
                            }
                        ],
                    }
                },
            }
        )
    )
    manifests = ["-f", str(SEED / "redis.json"), "-f", str(service), "-f", str(finder)]
    run = kubeplay("apply", *manifests, "-y", "-p", PROJECT, inventory=net_lab.inventory)
    assert run.code == 0, run.stderr
    ip = portal(service, net_lab.inventory, "redis")
    redis_minion = next(
        i
        for i, m in enumerate(net_lab.layout.minions)
        if any(c["Labels"]["kubeplay.pod"] == "redis" for c in net_lab.kubeplay_containers()[m.name])
    )
    other = (redis_minion + 1) % net_lab.size
    ping = "printf 'PING\\r\\n' | nc -w 3 {host} {port}"
    assert "+PONG" in client(net_lab, other, ping.format(host=ip, port=6379))

    where = next(
        i
        for i, m in enumerate(net_lab.layout.minions)
        if any(c["Labels"]["kubeplay.pod"] == "finder" for c in net_lab.kubeplay_containers()[m.name])
    )
    api = net_lab.docker(where)
    main = api.containers(filters={"label": ["kubeplay.pod=finder", "kubeplay.container=main"]})[0]

    def in_finder(script: str) -> str:
        exec_id = api.exec_create(main["Id"], ["sh", "-c", script])
        return str(api.exec_start(exec_id).decode())

    assert in_finder("echo $REDIS_SERVICE_HOST:$REDIS_SERVICE_PORT").strip() == f"{ip}:6379"
    assert "+PONG" in in_finder(ping.format(host="$REDIS_SERVICE_HOST", port="$REDIS_SERVICE_PORT"))
    assert "+PONG" in in_finder(ping.format(host="redis", port=6379))


@pytest.mark.parametrize("edited", [0, 1], ids=["the-first-minion-read-in-full", "a-minion-read-by-digest"])
def test_a_hand_edited_minion_is_repaired_alone_and_the_others_reported_in_sync(
    net_lab: Lab, tmp_path: Path, edited: int
) -> None:
    inventory, manifest = web_inventory(net_lab, tmp_path), web_manifest(tmp_path)
    apply(manifest, inventory)
    saved = {i: rules(net_lab, i) for i in range(net_lab.size)}
    endpoint = next(line for line in saved[edited] if line.startswith("-A KUBEPLAY-SEP-"))
    _, chain, *spec = shlex.split(endpoint)
    minion_run(net_lab, edited, "iptables", "-t", "nat", "-D", chain, *spec)  # as a user's hand would
    name = f"minion-{edited + 1}"
    check = kubeplay("apply", "-f", str(manifest), "-p", PROJECT, "--check", "-o", "json", inventory=inventory)
    assert check.code == 0, check.stderr
    assert {m: s["rules_in_sync"] for m, s in check.json()["network"].items()} == {
        f"minion-{i + 1}": i != edited for i in range(net_lab.size)
    }
    assert f"+{endpoint}" in check.json()["network"][name]["rule_diff"]
    repaired = apply(manifest, inventory)
    written = [(r["minion"], r["what"].startswith("proxy rules"), r["ok"]) for r in repaired["network_results"]]
    assert written == [(name, True, True)]  # exactly the edited minion written to, once
    assert repaired["plan"] == []
    assert {i: rules(net_lab, i) for i in range(net_lab.size)} == saved
    again = apply(manifest, inventory)
    assert again["network_results"] == [] and all(s["rules_in_sync"] for s in again["network"].values())
