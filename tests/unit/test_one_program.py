"""One program per minion serves a run (issue 13): the rules and routes, then Docker's reads over the rest of its
output. Run here by the local sh, with an iptables-save, an ip and a docker (whose `system dial-stdio` answers
Docker's API) of the test's own first on the PATH."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.connectors.base import CommandResult, DockerOps, HeldProcess
from kubeplay.connectors.dockerread import DIAL_STDIO, DockerHTTP, ProgramStream, ReadingDocker
from kubeplay.connectors.held import HeldReader
from kubeplay.connectors.local import LocalConnection
from kubeplay.model import Desired, Minion
from kubeplay.pods.labels import LABEL_CONTAINER, LABEL_POD
from kubeplay.proxy.rules import parse_save
from tests.unit.builders import inventory
from tests.unit.fakes import FakeHeld

SAVED = "*nat\n:KUBEPLAY-SERVICES - [0:0]\nCOMMIT\n"
ROUTES = "10.244.2.0/24 via 10.0.0.2 dev eth0 proto 99 \n"
CONTAINER = {
    "Id": "a" * 64,
    "Names": ["/kp_web_POD"],
    "Image": "kubeplay/pause",
    "State": "running",
    "Status": "Up 2 minutes",
    "Labels": {LABEL_POD: "web", LABEL_CONTAINER: "POD"},
}
DOCKER = """\
#!/usr/bin/env python3
# `docker system dial-stdio`: answers each GET of Docker's API on stdin, until stdin ends
import json, sys
answers = {"/containers/json": [CONTAINER], "/images/json": [], "/info": {"NCPU": 2, "MemTotal": 1024}}
while line := sys.stdin.buffer.readline():
    path = line.split()[1].decode().partition("?")[0].removeprefix("/v1.41")
    while sys.stdin.buffer.readline() not in (b"\\r\\n", b""):
        pass
    body = json.dumps(answers.get(path, {})).encode()
    sys.stdout.buffer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
    sys.stdout.buffer.flush()
"""


def fake_program(directory: Path, name: str, text: str) -> None:
    program = directory / name
    program.write_text(text)
    program.chmod(0o755)


class DialingLocal(LocalConnection):
    """This machine as a minion whose Docker is read through `docker system dial-stdio`, as over SSH."""

    def __init__(self, minion: Minion) -> None:
        super().__init__(minion)
        self.reads: ReadingDocker | None = None

    def docker_dial(self) -> tuple[str, ...]:
        return DIAL_STDIO

    def read_docker_over(self, program: HeldProcess) -> None:
        self.reads = ReadingDocker(DockerHTTP(lambda: ProgramStream(program)), self.no_writes)

    def no_writes(self) -> DockerOps:
        raise AssertionError("a read-only run changes nothing")

    def docker(self) -> DockerOps:
        assert self.reads is not None, "Docker is read over the one program"
        return self.reads


@pytest.mark.parametrize("save_code", [0, 3])
def test_the_rules_and_routes_then_docker_come_over_one_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, save_code: int
) -> None:
    fake_program(tmp_path, "docker", DOCKER.replace("[CONTAINER]", repr([CONTAINER])))
    saved = f"#!/bin/sh\nprintf '%s' {shlex.quote(SAVED)}\necho iptables-save said this >&2\nexit {save_code}\n"
    fake_program(tmp_path, "iptables-save", saved)
    fake_program(tmp_path, "ip", f"#!/bin/sh\nprintf '%s' {shlex.quote(ROUTES)}\n")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    inputs = reconcile.Inputs(Desired(), inventory("m1"), None)
    with reconcile.observe(inputs, DialingLocal, 5, network=True) as seen:
        assert [p.name for p in seen.observed.pods] == ["web"]
        network = seen.networks["m1"]
        if save_code:
            assert network.error.startswith("iptables-save: exit 3: iptables-save said this"), network.error
        else:
            routes = [(r.destination, r.via) for r in network.routes]
            assert (network.error, routes) == ("", [("10.244.2.0/24", "10.0.0.2")])
    assert seen.observed.minions["m1"].cpu == 2000


def test_a_held_program_is_read_as_lines_then_fields_then_a_stream() -> None:
    reader = HeldReader(FakeHeld("waiting x\nlocked\nsaved\0" + "0\0rest"), fields=2)
    assert [reader.line(1e12), reader.line(1e12)] == ["waiting x", "locked"]
    assert reader.read(1) + reader.read(1) + reader.read(1) == b"rest"
    assert reader.preamble(1) == [b"saved", b"0"]
    assert reader.read(1) == b""


def test_a_program_that_ends_before_its_fields_is_an_error() -> None:
    reader = HeldReader(FakeHeld("locked\nsaved\0"), fields=2)
    assert reader.line(1e12) == "locked"
    with pytest.raises(EOFError, match="ended before"):
        reader.preamble(1)


SHARED_SAVED = """\
*nat
:PREROUTING ACCEPT [0:0]
:KUBEPLAY-SERVICES - [0:0]
:KUBEPLAY-SVC-A - [0:0]
:KUBEPLAY-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubeplay service portals" -j KUBEPLAY-SERVICES
-A KUBEPLAY-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment "web:80 portal 10.0.0.1" --dport 80 -j KUBEPLAY-SVC-A
-A KUBEPLAY-SVC-A -p tcp -j DNAT --to-destination 172.21.0.2:80
-A KUBEPLAY-POSTROUTING -s 172.21.0.2/32 -d 172.21.0.2/32 -j MASQUERADE
COMMIT
"""


def test_the_other_minions_print_a_digest_that_the_first_ones_full_rules_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_program(tmp_path, "docker", DOCKER.replace("[CONTAINER]", "[]"))
    fake_program(tmp_path, "iptables-save", f"#!/bin/sh\nprintf '%s' {shlex.quote(SHARED_SAVED)}\n")
    fake_program(tmp_path, "ip", f"#!/bin/sh\nprintf '%s' {shlex.quote(ROUTES)}\n")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    runs: list[str] = []

    class Counted(DialingLocal):
        def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
            runs.append(self.minion.name)
            return super().run(argv, stdin, timeout)

    inputs = reconcile.Inputs(Desired(), inventory("m1", "m2"), None)
    with reconcile.observe(inputs, Counted, 5, network=True) as seen:
        first, other = seen.networks["m1"], seen.networks["m2"]
        assert first.rules == other.rules == parse_save(SHARED_SAVED) and first.routes == other.routes
        assert other.rules.shared is first.rules.shared is not None  # m2 printed a digest matching m1's rules
    assert runs == []  # nobody read again: one program per minion
