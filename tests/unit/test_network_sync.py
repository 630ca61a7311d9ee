"""How a restore text reaches a minion: plain when small, gzipped when large, plain again without gzip."""

from __future__ import annotations

import gzip

import pytest

from kubeplay.errors import KubeplayError
from kubeplay.proxy import sync as network_sync
from tests.unit.fakes import Answer, FakeConnection


def recorder(*codes: int) -> FakeConnection:
    """A minion connection that answers run() with the given exit codes (a failure says which line failed)."""
    return FakeConnection(answers=[Answer(code, "", "" if code == 0 else "line 3 failed") for code in codes])


BIG = "*nat\n" + "-A KUBEPLAY-SERVICES -j RETURN\n" * (network_sync.GZIP_FROM // 30) + "COMMIT\n"


def test_a_small_restore_text_is_sent_as_is() -> None:
    conn = recorder(0)
    network_sync.restore(conn, "*nat\nCOMMIT\n")
    assert conn.runs == [(network_sync.RESTORE, b"*nat\nCOMMIT\n")]


def test_a_large_restore_text_is_sent_gzipped_to_a_fixed_pipeline() -> None:
    conn = recorder(0)
    network_sync.restore(conn, BIG)
    ((argv, stdin),) = conn.runs
    assert argv == (
        "sh",
        "-c",
        "command -v gzip >/dev/null || exit 127; gzip -dc | iptables-restore --noflush --wait=10",
    )
    assert stdin is not None and len(stdin) < len(BIG) // 10 and gzip.decompress(stdin) == BIG.encode()


def test_without_gzip_on_the_minion_the_plain_text_is_sent() -> None:
    conn = recorder(127, 0)
    network_sync.restore(conn, BIG)
    assert [argv for argv, _ in conn.runs] == [network_sync.RESTORE_GZIPPED, network_sync.RESTORE]
    assert conn.runs[1][1] == BIG.encode()


def test_a_failed_gzipped_restore_is_reported_not_retried() -> None:
    conn = recorder(1)
    with pytest.raises(KubeplayError, match=r"iptables-restore --noflush --wait=10 \(gzipped\): exit 1: line 3"):
        network_sync.restore(conn, BIG)
    assert len(conn.runs) == 1
