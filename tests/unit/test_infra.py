"""kubeplay's own infra image: the pause program is a valid static x86-64 ELF that exits 0 on SIGTERM and SIGINT."""

from __future__ import annotations

import io
import platform
import signal
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from kubeplay.pods.infra import INFRA_CHANGES, INFRA_IMAGE, infra_rootfs, pause_program

PROGRAM = pause_program()
BASE = 0x400000
x86_64_only = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() not in ("x86_64", "amd64"), reason="the pause program is Linux x86-64"
)


def test_elf_header() -> None:
    ident = PROGRAM[:16]
    assert ident[:4] == b"\x7fELF"
    assert (ident[4], ident[5], ident[6]) == (2, 1, 1)  # 64-bit, little-endian, version 1
    e_type, e_machine, e_version, e_entry, e_phoff, e_shoff = struct.unpack_from("<HHIQQQ", PROGRAM, 16)
    assert (e_type, e_machine, e_version) == (2, 0x3E, 1)  # an executable for x86-64
    assert e_shoff == 0
    _flags, e_ehsize, e_phentsize, e_phnum = struct.unpack_from("<IHHH", PROGRAM, 48)
    assert (e_phoff, e_ehsize, e_phentsize, e_phnum) == (64, 64, 56, 1)
    p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_align = struct.unpack_from(
        "<IIQQQQQQ", PROGRAM, 64
    )
    assert (p_type, p_offset, p_vaddr, p_align) == (1, 0, BASE, 0x1000)  # PT_LOAD of the whole file
    assert p_flags & 0b101 == 0b101  # readable and executable
    assert p_filesz == p_memsz == len(PROGRAM)
    assert BASE + 64 + 56 <= e_entry < BASE + len(PROGRAM)


def test_program_is_small_and_stable() -> None:
    assert len(PROGRAM) == 216
    assert pause_program() == PROGRAM


def test_rootfs_is_a_tar_holding_only_an_executable_pause() -> None:
    with tarfile.open(fileobj=io.BytesIO(infra_rootfs())) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["pause"]
        (pause,) = members
        assert pause.isfile()
        assert pause.mode & 0o111 == 0o111
        extracted = tar.extractfile(pause)
        assert extracted is not None
        assert extracted.read() == PROGRAM


def test_image_runs_pause_and_is_labelled() -> None:
    assert 'CMD ["/pause"]' in INFRA_CHANGES
    assert any(change.startswith("LABEL kubeplay.") for change in INFRA_CHANGES)
    assert INFRA_IMAGE.rsplit(":", 1)[1]  # a tag: provisioning splits repository and tag


def _caught_signals(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("SigCgt:"):
            return int(row.split()[1], 16)
    return 0


@x86_64_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_pause_waits_then_exits_0_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    program = tmp_path / "pause"
    program.write_bytes(PROGRAM)
    program.chmod(0o755)
    process = subprocess.Popen([str(program)])
    try:
        wanted = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
        deadline = time.monotonic() + 5
        while _caught_signals(process.pid) & wanted != wanted:  # its handlers are installed
            assert process.poll() is None, "pause exited before it was signalled"
            assert time.monotonic() < deadline, "pause never installed its signal handlers"
            time.sleep(0.01)
        time.sleep(0.05)
        assert process.poll() is None  # it waits
        process.send_signal(sig)
        assert process.wait(timeout=2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
