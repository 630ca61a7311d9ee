"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from tests.unit.fakes import FakeConnection


@pytest.fixture
def minions() -> dict[str, FakeConnection]:
    """Two in-memory minions, m1 and m2, holding the images the whole-run tests use."""
    conns = {name: FakeConnection(name) for name in ("m1", "m2")}
    for conn in conns.values():
        conn.fake_docker.images |= {"dockerfile/redis:latest", "kubeplay/httpd:latest"}
    return conns
