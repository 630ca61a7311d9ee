"""Connections kept open from one round to the next (`apply --every`), made again when they drop.

``KeptConnections.through`` is a round's ``Connector``: the round asks it for each minion's connection as a
single run would and closes what it was given when the round ends, which leaves the connection open for the next
round. Before a kept connection is lent again it is checked with one cheap command; a connection that fails that,
or that the loop ``drop``s (its minion was unreachable in a round), is closed and made anew the next time it is
asked for, so a minion that was down and comes back is picked up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from kubeplay.connectors.base import (
    ConnectionWrapper,
    Connector,
    MinionConnection,
)
from kubeplay.model import Minion

ALIVE = ("true",)
"""The command that tells whether a kept connection still works."""
ALIVE_TIMEOUT = 5.0

_Key = tuple[str, str, int, str, str, str]


def _key(minion: Minion) -> _Key:
    """What a connection was made with: a changed address, user or key in the inventory makes a new one."""
    return (minion.name, minion.host, minion.port, minion.user, minion.key_file, minion.connection)


class _Lent(ConnectionWrapper):
    """A kept connection as a round sees it: everything but ``close``, which leaves it open (a held program, the
    lock, still ends with its own HeldProcess at the end of the round)."""

    def close(self) -> None:
        pass


def _alive(conn: MinionConnection) -> bool:
    try:
        return conn.run(ALIVE, timeout=ALIVE_TIMEOUT).ok
    except Exception:  # the transport's own error, whatever it is: the connection is gone
        return False


class KeptConnections:
    """Each minion's connection, kept open across rounds; ``through(connect)`` is a round's ``Connector``."""

    def __init__(self) -> None:
        self._open: dict[_Key, MinionConnection] = {}

    def through(self, connect: Connector) -> Connector:
        """A round's connector: the kept connection when it still works, else a new one made with ``connect``."""

        def lend(minion: Minion) -> MinionConnection:
            key = _key(minion)
            conn = self._open.get(key)
            if conn is not None and not _alive(conn):
                self._close(key)
                conn = None
            if conn is None:
                conn = connect(minion)  # raises ConnectionFailed: the round sees the minion unreachable
                self._open[key] = conn
            return _Lent(conn)

        return lend

    @property
    def minions(self) -> list[str]:
        """The names of the minions with an open connection."""
        return sorted(key[0] for key in self._open)

    def drop(self, names: Iterable[str]) -> None:
        """Close these minions' connections: the next round connects to them anew."""
        gone = set(names)
        for key in [k for k in self._open if k[0] in gone]:
            self._close(key)

    def keep_only(self, minions: Iterable[Minion]) -> None:
        """Close the connections no minion of the inventory uses any more (a minion removed or changed)."""
        wanted = {_key(m) for m in minions}
        for key in [k for k in self._open if k not in wanted]:
            self._close(key)

    def close(self) -> None:
        for key in list(self._open):
            self._close(key)

    def _close(self, key: _Key) -> None:
        conn = self._open.pop(key)
        with contextlib.suppress(Exception):  # closing a dropped connection must not stop the loop
            conn.close()
