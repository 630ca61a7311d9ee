"""The kubeplay CLI run on a pseudo-terminal (the `pty` module), as a person at a terminal runs it: stdin, stdout
and stderr are the terminal, which the test reads, answers and interrupts."""

from __future__ import annotations

import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from kubeplay.dataclass import dataclass, field
from tests.integration.conftest import ROOT

HIDE_CURSOR = b"\x1b[?25l"
SHOW_CURSOR = b"\x1b[?25h"


@dataclass
class Terminal:
    """One CLI process on its own pseudo-terminal (120 columns by 40 lines)."""

    argv: list[str]
    cwd: Path = ROOT
    output: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.master, slave = os.openpty()
        import fcntl

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.modes = termios.tcgetattr(slave)
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "TERM")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kubeplay.cli", *self.argv],
            cwd=self.cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
        self.slave = slave

    def read_until(self, pattern: bytes, timeout: float = 120) -> bytes:
        """Read until ``pattern`` (a regex) appears in everything read so far; what was read so far."""
        deadline = time.monotonic() + timeout
        while re.search(pattern, self.output) is None:
            assert time.monotonic() < deadline, f"{pattern!r} not seen in {bytes(self.output)[-2000:]!r}"
            if not self._read(0.5) and self.proc.poll() is not None:
                assert re.search(pattern, self.output), f"{pattern!r} not seen: {bytes(self.output)[-2000:]!r}"
        return bytes(self.output)

    def read_until_text(self, pattern: str, timeout: float = 120) -> str:
        """Read until ``pattern`` (a regex) appears in ``text``; the text so far."""
        deadline = time.monotonic() + timeout
        while re.search(pattern, self.text) is None:
            assert time.monotonic() < deadline and self.proc.poll() is None, f"{pattern!r} not seen in {self.text}"
            self._read(0.2)
        return self.text

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the process closed the terminal
            return False
        self.output += data
        return bool(data)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def interrupt(self) -> None:
        """Ctrl-C as the terminal sends it: SIGINT to the process."""
        self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float = 120) -> int:
        """The exit code, once everything the process wrote is read."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"still running: {bytes(self.output)[-2000:]!r}"
            self._read(0.2)
        while self._read(0.2):
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)

    @property
    def text(self) -> str:
        """What was written, escape sequences removed."""
        plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", b"", bytes(self.output))
        return plain.decode(errors="replace")

    def restored(self) -> bool:
        """The cursor shown again after it was last hidden, and the terminal's modes as they were."""
        out = bytes(self.output)
        return out.rfind(SHOW_CURSOR) > out.rfind(HIDE_CURSOR) and termios.tcgetattr(self.slave) == self.modes
