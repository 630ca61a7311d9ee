"""A held program's output read in parts: its first lines (e.g. the lock's answers), then a preamble of NUL-ended
fields (e.g. the rules and routes), then the rest as a byte stream (e.g. Docker's API, when the program's last
step is `docker system dial-stdio`), so that one exec session per minion serves a whole run.

``HeldReader`` is itself a ``HeldProcess``: what it reads after the lines and the preamble is what the program
wrote after them, and closing it closes the program.
"""

from __future__ import annotations

import threading
import time

from kubeplay.connectors.base import HeldProcess


class HeldReader:
    """The output of ``process``: lines (``line``), then ``fields`` NUL-ended fields (``preamble``), then the rest
    (``read``). The preamble is read once, by whichever comes first of ``preamble`` and ``read`` (from any
    thread)."""

    def __init__(self, process: HeldProcess, fields: int = 0) -> None:
        self.process = process
        self.fields = fields
        self._buffer = b""
        self._preamble: list[bytes] | None = None if fields else []
        self._preamble_lock = threading.Lock()
        self._closed = False

    def line(self, deadline: float) -> str | None:
        """The next line, stripped (None once the program ended); raises TimeoutError when none came by the
        ``deadline`` (time.monotonic)."""
        while (end := self._buffer.find(b"\n")) < 0:
            if not self._more(max(0.0, deadline - time.monotonic())):
                rest, self._buffer = self._buffer, b""
                return rest.decode(errors="replace").strip() or None
        found, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
        return found.decode(errors="replace").strip()

    def preamble(self, timeout: float) -> list[bytes]:
        """The ``fields`` NUL-ended fields after the lines read; raises EOFError when the program ended before
        writing them all (the fields it wrote in the error), TimeoutError when they did not come in time."""
        with self._preamble_lock:
            if self._preamble is None:
                deadline = time.monotonic() + timeout
                while self._buffer.count(b"\0") < self.fields:
                    if not self._more(max(0.0, deadline - time.monotonic())):
                        raise EOFError(f"the program ended before its output was complete: {self._buffer[-200:]!r}")
                *found, self._buffer = self._buffer.split(b"\0", self.fields)
                self._preamble = found
            return self._preamble

    def read(self, timeout: float) -> bytes:
        """What the program wrote after the lines read and the preamble (see HeldProcess.read)."""
        self.preamble(timeout)
        if not self._buffer:
            return self.process.read(timeout)
        found, self._buffer = self._buffer, b""
        return found

    def write(self, data: bytes) -> None:
        self.process.write(data)

    def close(self) -> None:
        """Close the program (once: the lock's release and the connection's Docker may both close it)."""
        if not self._closed:
            self._closed = True
            self.process.close()

    def _more(self, timeout: float) -> bool:
        chunk = self.process.read(timeout)
        self._buffer += chunk
        return bool(chunk)
