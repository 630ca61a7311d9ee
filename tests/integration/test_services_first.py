"""Services before pods: a client started in the same apply as its server reaches it through the portal at once.

Every minion's rules for the service (REJECT while it has no endpoints) are written before the first pod container
is created, and its endpoints as soon as the pods run. Without that, the client's first SYN to a portal IP with no
rule is dropped, and conntrack keeps that connection un-NATed: the client waits out its whole connect timeout.
The client here tries as a real one does: one connection at a time with a 30 s connect timeout, one second between
two tries.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from kubeplay.lab.layout import REDIS_IMAGE
from tests.integration import test_services
from tests.integration.conftest import PROJECT, Lab, kubeplay

pytestmark = pytest.mark.integration
net_lab = test_services.net_lab
"""The lab without kubeplay's rules and routes, before and after."""

CLIENT = (
    "start=$(date +%s); "
    "until printf 'PING\\r\\nQUIT\\r\\n' | nc -w 30 $REDIS_SERVICE_HOST $REDIS_SERVICE_PORT | grep -q PONG; "
    "do sleep 1; done; "
    'echo "connected after $(( $(date +%s) - start )) s"; exec sleep 3600'
)
MANIFESTS = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: redis, labels: {{name: redis}}}}
spec:
  containers: [{{name: redis, image: {REDIS_IMAGE}, ports: [{{containerPort: 6379}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: redis}}
spec: {{selector: {{name: redis}}, ports: [{{port: 6379, targetPort: 6379}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{name: client}}}}
spec:
  containers:
    - name: main
      image: "{{{{ lab_registry }}}}/kubeplay/httpd"
      command: [sh, -c, {json.dumps(CLIENT)}]
"""


def client_says(lab: Lab, within: float) -> str:
    """The client pod's output once it says it connected (waiting up to ``within`` seconds), else what it said."""
    deadline = time.monotonic() + within
    out = ""
    while time.monotonic() < deadline:
        for i in range(lab.size):
            api = lab.docker(i)
            for c in api.containers(filters={"label": ["kubeplay.pod=client", "kubeplay.container=main"]}):
                out = api.logs(c["Id"]).decode()
        if "connected after" in out:
            break
        time.sleep(0.5)
    return out


def test_a_client_started_with_its_server_in_one_apply_connects_through_the_portal_within_seconds(
    net_lab: Lab, tmp_path: Path
) -> None:
    manifest = tmp_path / "app.yaml.j2"
    manifest.write_text(MANIFESTS)
    log = tmp_path / "run.log"
    run = kubeplay(
        "apply", "-f", str(manifest), "-y", "-p", PROJECT, "--log-file", str(log), inventory=net_lab.inventory
    )
    assert run.code == 0, run.stderr

    # the run's own record: every minion's service rules, then the pods, then the endpoints
    events = [json.loads(line) for line in log.read_text().splitlines()]
    kept = ("action", "network")
    order = [(e["event"], e.get("what", ""), e.get("minion", "")) for e in events if e["event"] in kept]
    first_action = next(n for n, (event, _, _) in enumerate(order) if event == "action")
    minions = {m.name for m in net_lab.layout.minions}
    assert {m for _, what, m in order[:first_action] if what == "proxy rules (services first)"} == minions
    assert all(event == "action" or what != "proxy rules (services first)" for event, what, _ in order[first_action:])

    out = client_says(net_lab, within=15)
    connected = re.search(r"connected after (\d+) s", out)
    assert connected, f"the client never reached redis through its portal: {out!r}"
    assert int(connected[1]) <= 5, f"the client's first connection was lost: {out!r}"
