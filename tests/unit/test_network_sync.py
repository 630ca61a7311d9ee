"""How a restore text reaches a minion: plain when small, gzipped when large, plain again without gzip."""

from __future__ import annotations

import gzip
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from kubeplay.errors import KubeplayError
from kubeplay.proxy import sync as network_sync
from kubeplay.proxy.sync import READ_NETWORK
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


def fake_program(directory: Path, name: str, output: str, code: int) -> None:
    program = directory / name
    program.write_text(f"#!/bin/sh\nprintf '%s' {shlex.quote(output)}\necho {name} said this >&2\nexit {code}\n")
    program.chmod(0o755)


def read_with(tmp_path: Path, save_code: int, route_code: int) -> tuple[str, str]:
    """READ_NETWORK run by the local sh with an iptables-save and an ip of the test's own, first on the PATH."""
    fake_program(tmp_path, "iptables-save", "*nat\n:KUBEPLAY-SERVICES - [0:0]\nCOMMIT\n", save_code)
    fake_program(tmp_path, "ip", "10.244.2.0/24 via 10.0.0.2 dev eth0 proto 99 \n", route_code)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(READ_NETWORK, capture_output=True, text=True, env=env, check=True)
    return network_sync.split_network_read(done.stdout, done.stderr)


def test_rules_and_routes_are_read_by_one_program_and_told_apart(tmp_path: Path) -> None:
    assert read_with(tmp_path, 0, 0) == (
        "*nat\n:KUBEPLAY-SERVICES - [0:0]\nCOMMIT\n",
        "10.244.2.0/24 via 10.0.0.2 dev eth0 proto 99 \n",
    )


@pytest.mark.parametrize(
    ("save_code", "route_code", "failed"), [(3, 0, "iptables-save: exit 3"), (0, 2, "ip -4 route show: exit 2")]
)
def test_a_failed_read_names_the_program_its_exit_code_and_what_it_said(
    tmp_path: Path, save_code: int, route_code: int, failed: str
) -> None:
    with pytest.raises(KubeplayError, match=f"^{failed}: .*said this"):
        read_with(tmp_path, save_code, route_code)


def test_output_that_is_not_the_reading_programs_is_an_error() -> None:
    with pytest.raises(KubeplayError, match="unexpected output"):
        network_sync.split_network_read("*nat\nCOMMIT\n", "")
