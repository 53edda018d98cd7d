"""Fixtures: one app per session on a temporary SQLite file, or on WC_TEST_DATABASE_URL (PostgreSQL).

Helpers the tests share live in modules of their own (tests/examples.py, problems.py, processes.py).
"""

import dataclasses
import datetime
import json
import logging
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet

from models import ALL_MODELS, Organisation, WarehouseConnection, database
from models.storage import migrate
from tests import leak_guard
from tests.examples import SEED_CONFIG, issue_key
from tests.processes import free_port, wait_until_up

# The session fails if a status the spec documents was answered to no test (WC_REQUIRE_STATUS_COVERAGE).
from tests.status_coverage import StatusRecorder, pytest_sessionfinish  # noqa: F401
from tests.tcp_relay import TcpRelay
from warehouse_connections.app import connect_storage, create_app
from warehouse_connections.settings import Settings
from warehouse_connections.web.app_state import EXTENSION, AppState
from warehouses import key_pair, postgresql

# The Snowflake emulator's fixtures (snowflake_emulator, closed_snowflake_url), the bearer tokens' (issuer, …) and
# the throwaway PostgreSQL cluster's (postgresql_cluster) and a resolver the tests control (fake_dns).
pytest_plugins = [
    "tests.snowflake.fixtures",
    "tests.tokens.fixtures",
    "tests.postgresql.fixtures",
    "tests.postgresql.dns",
]


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    url = os.environ.get("WC_TEST_DATABASE_URL") or f"sqlite:///{data_dir}/test.sqlite3"
    return Settings(
        database_url=url,
        data_dir=data_dir,
        validate_responses=True,
        secret_keys=(Fernet.generate_key().decode(),),
        # The smallest size allowed, and quick to generate.
        rsa_key_bits=2048,
        # Short, so the tests of a hung account are quick.
        snowflake_login_timeout=3,
        # Keys are checked against the database on every request; tests of the cache set their own.
        api_key_cache_seconds=0,
    )


@pytest.fixture(scope="session")
def server_env(settings) -> dict[str, str]:
    """The environment a `warehouse-connections` process needs to share the suite's storage."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "WC_DATA_DIR": str(settings.data_dir),
        "WC_SECRET_KEYS": ",".join(settings.secret_keys),
        "WC_RSA_KEY_BITS": str(settings.rsa_key_bits),
    }


@pytest.fixture
def run(server_env):
    """Runs a `warehouse-connections` command to completion on the suite's storage; `env` adds to its environment."""

    def run(*args: str | bytes, check: bool = True, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "warehouse_connections", *args],
            env={**server_env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.env = server_env
    return run


@pytest.fixture(scope="session", autouse=True)
def record_generated_secrets():
    generate, new_password = key_pair.generate, postgresql.new_password
    key_pair.generate = lambda bits: leak_guard.record_private_key(generate(bits))
    postgresql.new_password = lambda: leak_guard.record_password(new_password())
    yield
    key_pair.generate, postgresql.new_password = generate, new_password


@pytest.fixture(scope="session")
def app(settings):
    connect_storage(settings)
    app = create_app(settings, outer_middlewares=(StatusRecorder,))
    migrate()
    app.app.after_request(leak_guard.record_response_body)
    return app


@pytest.fixture
def app_state(app) -> AppState:
    """The session app's own state: its settings, key cache and fast path."""
    return app.app.extensions[EXTENSION]


@pytest.fixture(autouse=True)
def no_secret_leaks(caplog):
    """No response body of any test contains private key material, and no log line (at DEBUG) any secret."""
    caplog.set_level(logging.DEBUG)
    leak_guard.response_bodies.clear()
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    leak_guard.assert_no_secret_in("\n".join(record.getMessage() for record in records))


@pytest.fixture(autouse=True)
def empty_database_after_test(app):
    yield
    with database.connection_context():
        for model in reversed(ALL_MODELS):
            model.delete().execute()


@pytest.fixture
def organisation(app) -> Organisation:
    with database.connection_context():
        return Organisation.create(name="Acme")


@pytest.fixture
def other_organisation(app) -> Organisation:
    with database.connection_context():
        return Organisation.create(name="Globex")


@pytest.fixture
def api_key(organisation) -> str:
    return issue_key(organisation)


@pytest.fixture
def read_only_api_key(organisation) -> str:
    return issue_key(organisation, read_only=True)


@pytest.fixture
def client(app, api_key):
    """A client authenticated as the `organisation` with a full key."""
    return app.test_client(headers={"Authorization": f"Api-Key {api_key}"})


@pytest.fixture
def anonymous_client(app):
    return app.test_client()


@pytest.fixture
def list_url(organisation) -> str:
    return f"/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"


@pytest.fixture
def created(client, list_url) -> dict:
    """A connection created through the API with the defaults; the 201 body."""
    response = client.post(list_url, json={"type": "snowflake", "account_identifier": "xy12345.us-east-1"})
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def other_organisations_connection(other_organisation) -> WarehouseConnection:
    with database.connection_context():
        return WarehouseConnection.create(
            organisation=other_organisation, type="snowflake", config="{}", public_key="MII", setup_script=""
        )


@pytest.fixture
def point_snowflake_at(app_state, monkeypatch):
    """Makes the app's connection tests reach Snowflake at a URL (an emulator, a closed port)."""

    def point_at(url: str) -> None:
        monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, snowflake_endpoint=url))

    return point_at


@pytest.fixture
def emulated_account(snowflake_emulator, created, point_snowflake_at):
    """An emulated Snowflake account on which the customer ran the created connection's setup script."""
    config = created["config"]
    snowflake_emulator.register_user(config["account_identifier"], config["user"], created["public_key"])
    snowflake_emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")
    point_snowflake_at(snowflake_emulator.url)
    return snowflake_emulator


@pytest.fixture
def connection(organisation) -> WarehouseConnection:
    """A tested, failing connection, inserted through the models."""
    with database.connection_context():
        return WarehouseConnection.create(
            organisation=organisation,
            type="snowflake",
            status="error",
            config=json.dumps(SEED_CONFIG),
            public_key="MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA",
            setup_script="-- Flagsmith Analytics\nUSE ROLE SYSADMIN;\n",
            created_at=datetime.datetime(2026, 4, 17, 10, 0, tzinfo=datetime.UTC),
            last_tested_at=datetime.datetime(2026, 4, 17, 10, 5, tzinfo=datetime.UTC),
            last_error="JWT token is invalid.",
        )


@pytest.fixture
def start_server(server_env, tmp_path):
    """Starts `warehouse-connections serve` processes on loopback; returns each one's base URL.

    `start.processes[url]` is the process, `start.logs[url]` the file its stderr (the logs) goes to.
    """

    def start(*args: str, **env: str) -> str:
        """`args` go to `serve`; `env` adds to the environment, e.g. WC_SNOWFLAKE_ENDPOINT=emulator.url."""
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        start.logs[base_url] = tmp_path / f"server-{port}.log"
        with start.logs[base_url].open("w") as log:
            start.processes[base_url] = subprocess.Popen(
                [sys.executable, "-m", "warehouse_connections", "serve", "--port", str(port), *args],
                env={**server_env, **env},
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_until_up(f"{base_url}/health")
        return base_url

    start.processes, start.logs = {}, {}
    yield start
    for server in start.processes.values():
        if server.poll() is None:
            server.terminate()
    for server in start.processes.values():
        server.wait(timeout=15)


@pytest.fixture
def postgresql_relay(settings):
    """A loopback TCP relay to the suite's PostgreSQL server, which can go silent (tests/tcp_relay.py)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a network partition from a database server: PostgreSQL only (WC_TEST_DATABASE_URL)")
    server = urlsplit(settings.database_url)
    relay = TcpRelay(server.port or 5432, server.hostname or "127.0.0.1")
    yield relay
    relay.close()


@pytest.fixture(params=["on the event loop", "in the handler"])
def one_test_at_a_time(request, app, settings, emulated_account, api_key, monkeypatch):
    """A client of an app whose process runs one connection test (or key rotation check) at once. The session app
    refuses beyond it on the event loop (web/fast_path.py); one without the fast path refuses in the handler."""
    if request.param == "on the event loop":
        serving = app
    else:
        serving = create_app(dataclasses.replace(settings, fast_path=False, snowflake_endpoint=emulated_account.url))
    monkeypatch.setattr(serving.app.extensions[EXTENSION].tests, "limit", 1)
    return serving.test_client(headers={"Authorization": f"Api-Key {api_key}"}), request.param
