"""How a restore text reaches a minion: plain when small, gzipped when large, plain again without gzip."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Any

import pytest

from kubeplay.connectors.base import CommandResult
from kubeplay.errors import KubeplayError
from kubeplay.model import Minion
from kubeplay.proxy import sync as network_sync


class Recorder:
    """A minion connection that records what it was asked to run and answers with the given exit codes."""

    def __init__(self, *codes: int) -> None:
        self.minion = Minion("m1", "10.0.0.1")
        self.codes = list(codes)
        self.calls: list[tuple[tuple[str, ...], bytes | None]] = []

    @property
    def address(self) -> str:
        return ""

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        self.calls.append((tuple(argv), stdin))
        code = self.codes.pop(0)
        return CommandResult(tuple(argv), code, "", "" if code == 0 else "line 3 failed")

    def docker_api(self) -> Any:
        raise NotImplementedError

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass


BIG = "*nat\n" + "-A KUBEPLAY-SERVICES -j RETURN\n" * (network_sync.GZIP_FROM // 30) + "COMMIT\n"


def test_a_small_restore_text_is_sent_as_is() -> None:
    conn = Recorder(0)
    network_sync.restore(conn, "*nat\nCOMMIT\n")
    assert conn.calls == [(network_sync.RESTORE, b"*nat\nCOMMIT\n")]


def test_a_large_restore_text_is_sent_gzipped_to_a_fixed_pipeline() -> None:
    conn = Recorder(0)
    network_sync.restore(conn, BIG)
    ((argv, stdin),) = conn.calls
    assert argv == (
        "sh",
        "-c",
        "command -v gzip >/dev/null || exit 127; gzip -dc | iptables-restore --noflush --wait=10",
    )
    assert stdin is not None and len(stdin) < len(BIG) // 10 and gzip.decompress(stdin) == BIG.encode()


def test_without_gzip_on_the_minion_the_plain_text_is_sent() -> None:
    conn = Recorder(127, 0)
    network_sync.restore(conn, BIG)
    assert [argv for argv, _ in conn.calls] == [network_sync.RESTORE_GZIPPED, network_sync.RESTORE]
    assert conn.calls[1][1] == BIG.encode()


def test_a_failed_gzipped_restore_is_reported_not_retried() -> None:
    conn = Recorder(1)
    with pytest.raises(KubeplayError, match=r"iptables-restore --noflush --wait=10 \(gzipped\): exit 1: line 3"):
        network_sync.restore(conn, BIG)
    assert len(conn.calls) == 1
