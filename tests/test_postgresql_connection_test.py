"""The PostgreSQL connection test against a real server that checks passwords (tests/postgresql/cluster.py).

The customer's part is played by the cluster's superuser: it runs the setup script the API returned.
"""

import dataclasses
import json
import secrets

import pytest

from models import ConnectionTest, database
from tests import leak_guard
from tests.test_postgresql_connections import everything_stored, stored_password

STEPS = ["check_host", "reach_host", "log_in", "run_query", "schema_privileges", "create_table"]


@pytest.fixture
def warehouse(postgresql_cluster, app_state, monkeypatch):
    """A database of its own on the cluster, a role name of its own, and an app allowed to reach loopback."""
    settings = dataclasses.replace(
        app_state.settings, allow_private_hosts=True, postgresql_ca_file=postgresql_cluster.certificate_path
    )
    monkeypatch.setattr(app_state, "settings", settings)
    name = f"wh_{secrets.token_hex(4)}"
    postgresql_cluster.create_database(name)
    yield {"database": name, "user": f"loader_{name}"}
    postgresql_cluster.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    postgresql_cluster.execute(f'DROP ROLE IF EXISTS "loader_{name}"')


@pytest.fixture
def connect(client, list_url, postgresql_cluster, warehouse):
    """Creates a PostgreSQL connection to the warehouse's database; returns the 201 body."""

    def create(**fields) -> dict:
        body = {"type": "postgresql", "host": "127.0.0.1", "port": postgresql_cluster.port, **warehouse, **fields}
        response = client.post(list_url, json=body)
        assert response.status_code == 201, response.json()
        return response.json()

    return create


def run_setup_script(cluster, connection: dict) -> None:
    cluster.execute(connection["setup_script"], database=connection["config"]["database"])


def result_of_test(client, list_url, connection: dict) -> dict:
    response = client.post(f"{list_url}{connection['id']}/test/")
    assert response.status_code == 200
    return response.json()


def outcome(result: dict) -> list[tuple]:
    return [(step["name"], step["status"], step["code"]) for step in result["steps"]]


def failed_at(step: str, code: str) -> list[tuple]:
    index = STEPS.index(step)
    return [
        *((name, "passed", None) for name in STEPS[:index]),
        (step, "failed", code),
        *((name, "skipped", None) for name in STEPS[index + 1 :]),
    ]


def test_test__setup_script_ran__every_step_passes(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == [(name, "passed", None) for name in STEPS]
    assert result["success"] is True
    assert client.get(f"{list_url}{connection['id']}/").json()["status"] == "connected"


def test_test__setup_script_ran_twice__still_passes_and_leaves_no_table(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)
    run_setup_script(postgresql_cluster, connection)

    result = result_of_test(client, list_url, connection)

    assert result["success"] is True
    tables = postgresql_cluster.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'flagsmith'", database=connection["config"]["database"]
    )
    assert tables == [(0,)]


def test_test__setup_script_not_run__fails_logging_in_as_password_rejected(client, list_url, connect):
    connection = connect()

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("log_in", "password_rejected")
    assert result["error"].startswith("FATAL 28P01: ")
    assert client.get(f"{list_url}{connection['id']}/").json()["last_error"] == result["error"]


def test_test__wrong_password__fails_logging_in_as_password_rejected(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)
    role = connection["config"]["user"]
    postgresql_cluster.execute(f"ALTER ROLE \"{role}\" PASSWORD '{secrets.token_hex(16)}'")

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("log_in", "password_rejected")


def test_test__create_revoked__fails_the_schema_privileges_step(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)
    role, database_name = connection["config"]["user"], connection["config"]["database"]
    postgresql_cluster.execute(f'REVOKE CREATE ON SCHEMA "flagsmith" FROM "{role}"', database=database_name)

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("schema_privileges", "create_table_denied")
    assert 'GRANT USAGE, CREATE ON SCHEMA "flagsmith"' in result["steps"][4]["hint"]


def test_test__schema_missing__fails_as_schema_not_found(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)
    postgresql_cluster.execute('DROP SCHEMA "flagsmith"', database=connection["config"]["database"])

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("schema_privileges", "schema_not_found")


def test_test__database_missing__fails_logging_in_as_database_not_found(
    client, list_url, postgresql_cluster, connect, warehouse
):
    connection = connect(database="no_such_database")
    # The role exists with the connection's password (the script, less its grant on the missing database).
    script = connection["setup_script"].replace('GRANT CONNECT ON DATABASE "no_such_database"', "-- ")
    postgresql_cluster.execute(script, database=warehouse["database"])

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("log_in", "database_not_found")
    assert result["error"].startswith("FATAL 3D000: ")


def test_test__customer_managed_role__passes_with_the_customers_password(
    client, list_url, postgresql_cluster, connect, warehouse
):
    password = leak_guard.record_password(f"customer-{secrets.token_hex(12)}")
    postgresql_cluster.execute(f"CREATE ROLE \"{warehouse['user']}\" LOGIN PASSWORD '{password}'")
    connection = connect(password=password)
    run_setup_script(postgresql_cluster, connection)

    result = result_of_test(client, list_url, connection)

    assert result["success"] is True
    assert password not in json.dumps(result)
    assert password not in everything_stored()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_test__verify_full_with_the_operators_authority__passes(client, list_url, postgresql_cluster, connect, host):
    connection = connect(host=host, sslmode="verify-full")
    run_setup_script(postgresql_cluster, connection)

    assert result_of_test(client, list_url, connection)["success"] is True


def test_test__verify_ca_without_the_authority__fails_reaching_the_host_as_tls_failed(
    client, list_url, postgresql_cluster, connect, app_state, monkeypatch
):
    connection = connect(sslmode="verify-ca")
    run_setup_script(postgresql_cluster, connection)
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, postgresql_ca_file=None))

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("reach_host", "tls_failed")


def test_test__private_host_no_longer_allowed__fails_checking_the_host(
    client, list_url, postgresql_cluster, connect, app_state, monkeypatch
):
    connection = connect()
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, allow_private_hosts=False))

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("check_host", "host_not_allowed")
    assert result["error"] == "127.0.0.1 is an address that is loopback, which warehouse connections may not reach."


def test_test__name_rebound_to_a_private_address__fails_checking_the_host_and_connects_nowhere(
    client, list_url, postgresql_cluster, connect, app_state, monkeypatch, fake_dns
):
    fake_dns.answers["warehouse.example.com"] = ["93.184.215.14"]
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, allow_private_hosts=False))
    connection = connect(host="warehouse.example.com")
    fake_dns.answers["warehouse.example.com"] = ["127.0.0.1"]

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == failed_at("check_host", "host_not_allowed")
    assert fake_dns.questions == ["warehouse.example.com", "warehouse.example.com"]


def test_test__name_resolved__is_resolved_once_and_connected_to_at_the_checked_address(
    client, list_url, postgresql_cluster, connect, fake_dns
):
    fake_dns.answers["warehouse.example.com"] = ["127.0.0.1"]
    connection = connect(host="warehouse.example.com")
    run_setup_script(postgresql_cluster, connection)
    fake_dns.questions.clear()

    result = result_of_test(client, list_url, connection)

    assert outcome(result) == [(name, "passed", None) for name in STEPS], result
    assert fake_dns.questions == ["warehouse.example.com"]


def test_test__passwords__are_in_no_answer_history_or_row(client, list_url, postgresql_cluster, connect):
    connection = connect()
    run_setup_script(postgresql_cluster, connection)
    password = stored_password(connection["id"])
    result_of_test(client, list_url, connection)
    postgresql_cluster.execute(f"ALTER ROLE \"{connection['config']['user']}\" PASSWORD 'other'")
    result_of_test(client, list_url, connection)

    history = client.get(f"{list_url}{connection['id']}/tests/")

    assert [record["result"]["success"] for record in history.json()] == [False, True]
    assert password not in history.text
    with database.connection_context():
        assert password not in repr(list(ConnectionTest.select().dicts()))
    assert password not in everything_stored()
