"""The emulator's pytest fixtures; load them with ``pytest_plugins = ["tests.snowflake.fixtures"]``."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from warehouse_connections.devtools.snowflake_emulator import SnowflakeEmulator


def _keep_connector_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Connector 5.x probes cloud metadata endpoints (169.254.169.254, metadata.google.internal) on
    # connect to report the platform; tests must not leave loopback.
    monkeypatch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")


@pytest.fixture
def snowflake_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SnowflakeEmulator]:
    _keep_connector_offline(monkeypatch)
    with SnowflakeEmulator() as emulator:
        yield emulator


@pytest.fixture
def closed_snowflake_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A loopback URL that refuses connections.

    The socket stays bound but never listens, so the port is reserved (no other test can grab it)
    and connecting to it is refused immediately.
    """
    _keep_connector_offline(monkeypatch)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
