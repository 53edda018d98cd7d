"""Fixtures: one app per session on a temporary SQLite file, or on WC_TEST_DATABASE_URL (PostgreSQL)."""

import datetime
import json
import os

import pytest

from models import ALL_MODELS, ApiKey, Organisation, WarehouseConnection, database
from models.storage import migrate
from warehouse_connections.app import create_app
from warehouse_connections.settings import Settings

SEED_CONFIG = {
    "account_identifier": "xy12345.us-east-1",
    "warehouse": "COMPUTE_WH",
    "database": "FLAGSMITH",
    "schema": "ANALYTICS",
    "role": "FLAGSMITH_LOADER",
    "user": "FLAGSMITH_SERVICE",
}


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    url = os.environ.get("WC_TEST_DATABASE_URL") or f"sqlite:///{data_dir}/test.sqlite3"
    return Settings(database_url=url, data_dir=data_dir, validate_responses=True)


@pytest.fixture(scope="session")
def app(settings):
    app = create_app(settings)
    migrate()
    return app


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


def issue_key(organisation: Organisation, read_only: bool = False) -> str:
    with database.connection_context():
        return ApiKey.issue(organisation.id, "test key", read_only=read_only)[1]


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
