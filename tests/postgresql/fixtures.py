"""The throwaway cluster's fixture; loaded by tests/conftest.py (pytest_plugins)."""

import os
import socket
from collections.abc import Iterator

import pytest

from tests.postgresql.cluster import Cluster, ClusterUnavailable, run_as_postgres_prefix, server_bin_dir

# Set where the server binaries are part of the environment (CI): their absence fails instead of skipping.
REQUIRE_CLUSTER = os.environ.get("WC_REQUIRE_PG_CLUSTER") == "1"


@pytest.fixture(scope="session")
def postgresql_cluster() -> Iterator[Cluster]:
    """One cluster for the session (initdb takes seconds): tests keep apart by their own roles and databases."""
    try:
        bin_dir, as_postgres = server_bin_dir(), run_as_postgres_prefix()
    except ClusterUnavailable as missing:
        if REQUIRE_CLUSTER:
            pytest.fail(f"{missing} (WC_REQUIRE_PG_CLUSTER=1: this environment must provide it)")
        pytest.skip(str(missing))
    with Cluster(bin_dir, as_postgres) as cluster:
        yield cluster


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so no other test takes it) but never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
