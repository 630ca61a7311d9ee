"""A rolling update under load: requests keep flowing through the service's portal while every replica is replaced.

A client container on minion-3 sends one HTTP request after another to the portal IP (each through minion-3's nat
PREROUTING, across to the web pods on minion-1 and minion-2) while `kubeplay apply` rolls a template change over
the controller's 3 replicas. Each new pod enters the endpoints once it runs (and passes its liveness probe, where it
has one), each old pod leaves every minion's endpoints and is drained before it is stopped: no request may fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration import test_services
from tests.integration.conftest import Lab
from tests.integration.test_services import (
    CLIENT_MINION,
    apply,
    pod_names,
    portal,
    web_inventory,
    web_manifest,
)

pytestmark = pytest.mark.integration
net_lab = test_services.net_lab
"""The lab without kubeplay's rules and routes, before and after."""

PROBE = """
          livenessProbe: {httpGet: {path: /, port: http}, timeoutSeconds: 2}"""


def rolling_manifest(folder: Path, release: str, *, probe: bool) -> Path:
    """3 web replicas held on minion-1 and minion-2, with RELEASE in their environment, behind service web."""
    path = web_manifest(folder)
    ports = "          ports: [{name: http, containerPort: 80}]"
    text = path.read_text()
    assert ports in text
    env = f'          env: [{{name: RELEASE, value: "{release}"}}]'
    path.write_text(text.replace(ports, f"{env}\n{ports}" + PROBE * probe))
    return path


class RequestLoop:
    """A busybox container on a minion that sends HTTP requests to ip:port one after another until told to stop,
    printing each answer (the answering pod's name, "" for a failed request)."""

    STOP = "/tmp/stop"

    def __init__(self, lab: Lab, index: int, ip: str, port: int) -> None:
        self.api = lab.docker(index)
        image = f"{lab.layout.registry}/kubeplay/httpd:latest"
        if not self.api.images(name=image):
            self.api.pull(image)
        request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} {port} | tail -n 1"
        script = f'while [ ! -e {self.STOP} ]; do echo "answer=$({request})"; done; echo done'
        self.id = self.api.create_container(image, entrypoint=["sh", "-c", script], labels={"kubeplay.test": "client"})[
            "Id"
        ]
        self.api.start(self.id)

    def answers(self) -> list[str]:
        """Stop the loop and return every answer."""
        try:
            self.api.exec_start(self.api.exec_create(self.id, ["touch", self.STOP])["Id"])
            self.api.wait(self.id, timeout=30)
            lines = self.api.logs(self.id).decode().splitlines()
        finally:
            self.api.remove_container(self.id, force=True)
        assert lines and lines[-1] == "done", "the loop ran until it was told to stop"
        return [line.removeprefix("answer=").strip() for line in lines if line.startswith("answer=")]


def releases(lab: Lab) -> dict[str, str]:
    """Web pod -> the RELEASE its httpd container runs with, over every minion."""
    found = {}
    for i in range(lab.size):
        api = lab.docker(i)
        for c in api.containers(filters={"label": ["kubeplay.container=httpd"]}):
            env = api.inspect_container(c["Id"])["Config"]["Env"] or []
            found[c["Labels"]["kubeplay.pod"]] = next((e.split("=", 1)[1] for e in env if e.startswith("RELEASE=")), "")
    return found


@pytest.mark.parametrize("probe", [True, False], ids=["liveness-probe", "no-probe"])
def test_no_request_through_the_portal_fails_while_all_3_replicas_are_rolled(
    net_lab: Lab, tmp_path: Path, probe: bool
) -> None:
    inventory = web_inventory(net_lab, tmp_path)
    apply(rolling_manifest(tmp_path, "1", probe=probe), inventory)
    old = pod_names(net_lab, "web-")
    assert len(old) == 3 and set(releases(net_lab).values()) == {"1"}
    ip = portal(rolling_manifest(tmp_path, "1", probe=probe), inventory, "web")

    loop = RequestLoop(net_lab, CLIENT_MINION, ip, 8080)
    try:
        rolled = apply(rolling_manifest(tmp_path, "2", probe=probe), inventory)
    finally:
        answers = loop.answers()

    assert len(rolled["rollout"]) == 3 and all(r["ok"] for r in rolled["results"])
    new = pod_names(net_lab, "web-")
    assert len(new) == 3 and not new & old
    assert releases(net_lab) == dict.fromkeys(new, "2")
    failed = answers.count("")
    assert len(answers) >= 20, "the loop was sending requests all along the rollout"
    assert failed == 0, f"{failed} of {len(answers)} requests failed during the rollout"
    assert set(answers) <= old | new and set(answers) & old and set(answers) & new
