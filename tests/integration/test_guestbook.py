"""The v0.4 guestbook (manifests/examples/guestbook), applied verbatim to the lab and used as its users did.

A value is set through the frontend on one minion's hostPort 8000 (written through the redismaster service) and
read back through the frontend on every other minion (read through the redisslave service, from the slaves that
replicate the master): the page, both services' portals, the pod network and the replication all have to work.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import docker.errors
import pytest

from kubeplay.lab.images import GUESTBOOK_HTTPD_COMMAND, REDIS_SERVER_COMMAND
from kubeplay.lab.layout import GUESTBOOK_FRONTEND_IMAGE, REDIS_IMAGE, REDIS_SLAVE_IMAGE
from tests.integration.conftest import PROJECT, ROOT, Lab, kubeplay

pytestmark = pytest.mark.integration

GUESTBOOK = ROOT / "manifests" / "examples" / "guestbook"
FRONTEND_PORT = 8000
T = TypeVar("T")
READABLE_WITHIN = 10.0
"""Seconds after apply returns by which the value must be readable through the slaves (issue 11)."""


def frontend(address: str, **query: str) -> Any:
    """The frontend's JSON answer on a minion's hostPort 8000 (the page as a browser would request it)."""
    url = f"http://{address}:{FRONTEND_PORT}/?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def the_value(address: str, value: str) -> dict[str, str] | None:
    """The frontend's answer to a read of "messages" when it is ``value``, else None (not replicated yet)."""
    answer = frontend(address, cmd="get", key="messages")
    return {"data": value} if answer == {"data": value} else None


def answer_within(seconds: float, ask: Callable[[], T | None], what: str) -> T:
    """``ask()``'s first answer that is not None, asking until ``seconds`` have passed (``what`` it waits for)."""
    deadline = time.monotonic() + seconds
    failure: Exception | None = None
    while True:
        try:
            answer = ask()
        except (OSError, ValueError) as exc:  # not listening yet, or the page's 502 while a service has no endpoint
            answer, failure = None, exc
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.1f} s (last failure: {failure!r})")
        time.sleep(0.2)


IMAGE_COMMANDS = {
    f"{REDIS_IMAGE}:latest": list(REDIS_SERVER_COMMAND),
    f"{REDIS_SLAVE_IMAGE}:latest": ["/bin/run-slave"],
    f"{GUESTBOOK_FRONTEND_IMAGE}:latest": list(GUESTBOOK_HTTPD_COMMAND),
}


def command(lab: Lab, minion: int, image: str) -> Any:
    """The command an image on a minion runs; None when the minion lacks the image."""
    try:
        return lab.docker(minion).inspect_image(image)["Config"]["Cmd"]
    except docker.errors.ImageNotFound:
        return None


@pytest.fixture
def guestbook_lab(lab: Lab) -> Iterator[Lab]:
    """The lab with the guestbook's images as this checkout builds them (`lab up` updates a lab brought up before)."""
    if not all(command(lab, i, image) == wanted for i in range(lab.size) for image, wanted in IMAGE_COMMANDS.items()):
        up = kubeplay("lab", "up", "--name", lab.layout.name, "--inventory", str(lab.inventory))
        assert up.code == 0, up.stderr
    yield lab
    deleted = kubeplay("delete", "-f", str(GUESTBOOK), "-p", PROJECT, "--yes", inventory=lab.inventory)
    assert deleted.code == 0, deleted.stdout + deleted.stderr


def test_the_v04_guestbook_applies_verbatim_and_serves_a_value_set_on_one_minion_from_every_other(
    guestbook_lab: Lab,
) -> None:
    lab = guestbook_lab
    assert lab.size >= 3, "the frontend's 3 replicas need a minion each (hostPort 8000)"
    applied = kubeplay("apply", "-f", str(GUESTBOOK), "-p", PROJECT, "--yes", inventory=lab.inventory)
    returned = time.monotonic()
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "frontend-controller.json:24: ReplicationController frontendController: " in applied.stderr
    assert "labels.uses: value 'redisslave,redis-master' is accepted as the Kubernetes v0.4" in applied.stderr

    writer, *readers = [m.address for m in lab.layout.minions]
    value = f"hello from {lab.layout.minions[0].name} at {time.time():.3f}"
    written = answer_within(
        READABLE_WITHIN, lambda: frontend(writer, cmd="set", key="messages", value=value), f"a write through {writer}"
    )
    assert written == {"message": "Updated"}
    for reader in readers:
        remaining = READABLE_WITHIN - (time.monotonic() - returned)
        read = answer_within(
            max(remaining, 0.0), partial(the_value, reader, value), f"the value read back through {reader}"
        )
        assert read == {"data": value}, f"read through {reader}"

    pods = kubeplay("get", "pods", "-p", PROJECT, inventory=lab.inventory)
    assert pods.code == 0, pods.stderr
    frontends = [line for line in pods.stdout.splitlines() if "example-guestbook-php-redis" in line]
    assert len(frontends) == 3
    assert all("name=frontend,uses=redisslave,redis-master" in line for line in frontends)
