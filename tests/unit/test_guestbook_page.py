"""The lab's stand-in for the v0.4 guestbook's PHP page (kubeplay/lab/guestbook.sh), run as busybox httpd runs it
(a CGI script under busybox's sh) against an in-process redis on loopback: what it sends redis and what it answers."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from io import BufferedIOBase
from pathlib import Path

import pytest

from kubeplay.lab import images
from kubeplay.lab.images import BUSYBOX, busybox_applets

PAGE = Path(images.__file__).parent / "guestbook.sh"
pytestmark = pytest.mark.skipif(not BUSYBOX.exists(), reason="busybox-static is not installed")


def read_command(stream: BufferedIOBase) -> list[bytes] | None:
    """One RESP command (an array of bulk strings), None at the end of the stream."""
    header = stream.readline()
    if not header:
        return None
    assert header.startswith(b"*"), header
    command = []
    for _ in range(int(header[1:])):
        size = int(stream.readline()[1:])
        command.append(stream.read(size + 2)[:-2])
    return command


class FakeRedis(socketserver.ThreadingTCPServer):
    """SET, GET and QUIT, on 127.0.0.1 and a free port; every command received is kept."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Connection)
        self.data: dict[bytes, bytes] = {}
        self.commands: list[list[bytes]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Connection(socketserver.StreamRequestHandler):
    server: FakeRedis

    def handle(self) -> None:
        while (command := read_command(self.rfile)) is not None:
            self.server.commands.append(command)
            name, *args = command
            if name == b"SET":
                self.server.data[args[0]] = args[1]
                self.wfile.write(b"+OK\r\n")
            elif name == b"GET" and args[0] in self.server.data:
                value = self.server.data[args[0]]
                self.wfile.write(b"$%d\r\n%s\r\n" % (len(value), value))
            elif name == b"GET":
                self.wfile.write(b"$-1\r\n")
            else:
                self.wfile.write(b"+OK\r\n")
                return


@pytest.fixture
def redis() -> Iterator[FakeRedis]:
    server = FakeRedis()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def applets(tmp_path: Path) -> Path:
    """A PATH holding busybox's applets, as the image's /bin does."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for applet in busybox_applets():
        (folder / applet).symlink_to(BUSYBOX)
    return folder


def request(applets: Path, master: int, slave: int, **query: str) -> tuple[str, str]:
    """(CGI headers, body) of the page for ``?query``, its master and slave services on these ports."""
    environment = {
        "PATH": str(applets),
        "QUERY_STRING": urllib.parse.urlencode(query),
        "REDISMASTER_SERVICE_HOST": "127.0.0.1",
        "REDISMASTER_SERVICE_PORT": str(master),
        "REDISSLAVE_SERVICE_HOST": "127.0.0.1",
        "REDISSLAVE_SERVICE_PORT": str(slave),
    }
    run = subprocess.run([str(BUSYBOX), "sh", str(PAGE)], env=environment, capture_output=True, timeout=30, check=True)
    headers, _, body = run.stdout.decode().partition("\r\n\r\n")
    return headers, body


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HOSTILE = 'it\'s "quoted"; $(reboot) `id` \\ 100% & more=1\n\ttab é'


def test_set_writes_the_exact_key_and_value_through_the_master_and_answers_updated(
    redis: FakeRedis, applets: Path
) -> None:
    headers, body = request(applets, redis.port, free_port(), cmd="set", key="messages", value=HOSTILE)
    assert headers == "Content-Type: application/json"
    assert json.loads(body) == {"message": "Updated"}
    assert redis.commands[0] == [b"SET", b"messages", HOSTILE.encode()]


def test_get_reads_through_the_slave_and_answers_the_value_as_json(redis: FakeRedis, applets: Path) -> None:
    redis.data[b"messages"] = HOSTILE.encode()
    headers, body = request(applets, free_port(), redis.port, cmd="get", key="messages")
    assert headers == "Content-Type: application/json"
    assert json.loads(body) == {"data": HOSTILE}
    assert json.loads(request(applets, free_port(), redis.port, cmd="get", key="nothing")[1]) == {"data": ""}


def test_an_unreachable_service_is_a_502_with_the_reason(applets: Path) -> None:
    headers, body = request(applets, free_port(), free_port(), cmd="set", key="k", value="v")
    assert headers.startswith("Status: 502 Bad Gateway\r\n")
    assert json.loads(body)["error"].startswith("redismaster: ")
