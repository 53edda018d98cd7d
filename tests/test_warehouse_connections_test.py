"""POST …/{id}/test/: the real Snowflake connector against a loopback emulator, never a real host."""

import dataclasses
import gc
import re
import threading
import time
import weakref

import pytest
from snowflake.connector import SnowflakeConnection

from models import Secret, WarehouseConnection, database
from tests.examples import issue_key
from tests.interleaving import Interleaved
from tests.problems import assert_problem
from warehouses import snowflake
from warehouses.snowflake import checks

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def url_for_test(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/test/"


STEP_NAMES = ("reach_host", "log_in", "use_warehouse", "read_stage", "write_stage", "create_table")


def passed_steps(result: dict) -> list[dict]:
    """Every step passed, in order, each with the duration the result gives it."""
    durations = [step["duration_ms"] for step in result["steps"]]
    assert all(isinstance(duration, int) and duration >= 0 for duration in durations)
    return [
        {
            "name": name,
            "status": "passed",
            "code": None,
            "message": None,
            "hint": None,
            "retryable": False,
            "duration_ms": duration,
        }
        for name, duration in zip(STEP_NAMES, durations, strict=True)
    ]


def test_test__setup_script_was_run__succeeds_and_records_connected(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]), json={})

    result = response.json()
    assert response.status_code == 200
    assert result == {"success": True, "tested_at": result["tested_at"], "steps": passed_steps(result)}
    assert TIMESTAMP.fullmatch(result["tested_at"])
    assert client.get(list_url).json() == [
        {**created, "status": "connected", "last_tested_at": result["tested_at"], "last_error": None}
    ]
    (login,) = [entry for entry in emulated_account.requests if entry["path"] == "/session/v1/login-request"]
    assert login["authenticated"] is True
    assert login["login"] == {
        "ACCOUNT_NAME": "xy12345.us-east-1",
        "LOGIN_NAME": "FLAGSMITH_SERVICE",
        "AUTHENTICATOR": "SNOWFLAKE_JWT",
    }
    assert login["params"]["warehouse"] == "COMPUTE_WH" and login["params"]["roleName"] == "FLAGSMITH_LOADER"


def test_test__setup_script_was_run__runs_each_step_as_plain_sql_tagged_with_the_connection(
    client, list_url, created, emulated_account
):
    client.post(url_for_test(list_url, created["id"]))

    queries = [entry for entry in emulated_account.requests if "sql" in entry]
    stage = '@"FLAGSMITH"."ANALYTICS"."FLAGSMITH_STAGE"'
    (folder,) = {
        match.group(1) for entry in queries if (match := re.search(r"/flagsmith_connection_test/(\w+)/", entry["sql"]))
    }
    table = f'"FLAGSMITH"."ANALYTICS"."FLAGSMITH_TEST_{folder.upper()}"'
    assert [entry["sql"] for entry in queries] == [
        "SELECT CURRENT_WAREHOUSE(), CURRENT_DATABASE(), CURRENT_SCHEMA()",
        f"LIST {stage}",
        f"COPY INTO {stage}/flagsmith_connection_test/{folder}/ FROM (SELECT 1 AS FLAGSMITH_CONNECTION_TEST)",
        f"REMOVE {stage}/flagsmith_connection_test/{folder}/",
        f"CREATE TEMPORARY TABLE {table} (PROBE INTEGER)",
        f"INSERT INTO {table} (PROBE) VALUES (1)",
        f"DROP TABLE IF EXISTS {table}",
    ]
    assert {entry["query_tag"] for entry in queries} == {f"flagsmith-warehouse-connections:{created['id']}"}
    assert emulated_account.stage_files("FLAGSMITH", "ANALYTICS", "FLAGSMITH_STAGE") == set()


def test_test__no_body__is_the_same_as_an_empty_object(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]))

    assert response.status_code == 200
    assert response.json()["success"] is True


def test_test__body_with_a_field__returns_400(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]), json={"force": True})

    assert response.status_code == 400
    assert response.json()["detail"] == "Additional properties are not allowed ('force' was unexpected)"


def test_test__account_refuses__returns_200_with_the_raw_error_and_records_it(
    client, list_url, created, emulated_account
):
    emulated_account.failure = "reject_jwt"

    response = client.post(url_for_test(list_url, created["id"]), json={})

    result = response.json()
    assert response.status_code == 200
    assert result == {
        "success": False,
        "tested_at": result["tested_at"],
        "error": result["steps"][1]["message"],
        "steps": result["steps"],
    }
    assert result["error"].startswith("390144 (28000): Failed to login: Login error: JWT token is invalid.")
    stored = client.get(f"{list_url}{created['id']}/").json()
    assert (stored["status"], stored["last_tested_at"], stored["last_error"]) == (
        "error",
        result["tested_at"],
        result["error"],
    )


def test_test__account_hangs__answers_within_the_login_timeout(client, list_url, created, emulated_account, settings):
    emulated_account.failure = "hang"

    started = time.monotonic()
    response = client.post(url_for_test(list_url, created["id"]))
    elapsed = time.monotonic() - started

    login = response.json()["steps"][1]
    assert response.status_code == 200
    assert (login["name"], login["code"], login["retryable"]) == ("log_in", "timeout", True)
    assert (
        login["message"]
        == f"000014 (HYT00): Failed to login: login timed out after {settings.snowflake_login_timeout}s"
    )
    assert settings.snowflake_login_timeout <= elapsed < settings.snowflake_login_timeout + 5


def test_test__success_after_a_failure__clears_last_error(client, list_url, created, emulated_account):
    emulated_account.failure = "reject_jwt"
    client.post(url_for_test(list_url, created["id"]))
    emulated_account.failure = None

    result = client.post(url_for_test(list_url, created["id"])).json()

    stored = client.get(f"{list_url}{created['id']}/").json()
    assert result["success"] is True
    assert (stored["status"], stored["last_tested_at"], stored["last_error"]) == (
        "connected",
        result["tested_at"],
        None,
    )


def test_test__then_update__resets_the_recorded_result(client, list_url, created, emulated_account):
    client.post(url_for_test(list_url, created["id"]))

    updated = client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"}).json()

    assert (updated["status"], updated["last_tested_at"], updated["last_error"]) == (
        "pending_customer_setup",
        None,
        None,
    )


def start_slow_test(client, list_url: str, connection_id: str, emulator) -> tuple[threading.Thread, dict]:
    """A test call on an account slow to log in; returns once the login has reached the emulator."""
    emulator.login_delay = 1.5
    outcome = {}
    testing = threading.Thread(
        target=lambda: outcome.update(response=client.post(url_for_test(list_url, connection_id)))
    )
    testing.start()
    deadline = time.monotonic() + 10
    while "/session/v1/login-request" not in emulator.paths() and time.monotonic() < deadline:
        time.sleep(0.02)
    return testing, outcome


def test_test__connection_updated_while_testing__records_nothing_and_returns_409(
    client, list_url, created, emulated_account
):
    testing, outcome = start_slow_test(client, list_url, created["id"], emulated_account)

    updated = client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"}).json()
    testing.join(timeout=30)

    assert outcome["response"].status_code == 409
    assert outcome["response"].json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": f"Warehouse connection '{created['id']}' changed while it was being tested; "
        "the result was not recorded. Test it again.",
    }
    assert client.get(f"{list_url}{created['id']}/").json() == updated


def test_test__connection_deleted_while_testing__returns_409_and_it_stays_deleted(
    client, list_url, created, emulated_account
):
    testing, outcome = start_slow_test(client, list_url, created["id"], emulated_account)

    client.delete(f"{list_url}{created['id']}/")
    testing.join(timeout=30)

    assert outcome["response"].status_code == 409
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0


def test_test__connection_deleted_while_its_key_is_read__returns_409_and_it_stays_deleted(
    client, list_url, created, emulated_account, monkeypatch
):
    deleting = Interleaved(monkeypatch, Secret, "reveal", lambda: client.delete(f"{list_url}{created['id']}/"))
    deleting.ends_before(snowflake, "check_connection")

    response = client.post(url_for_test(list_url, created["id"]))

    assert deleting.finished().status_code == 204
    assert_problem(
        response,
        409,
        "Conflict",
        f"Warehouse connection {created['id']!r} changed while it was being tested; "
        "the result was not recorded. Test it again.",
    )
    with database.connection_context():
        assert (WarehouseConnection.select().count(), Secret.select().count()) == (0, 0)


def test_test__other_organisations_connection__returns_404(client, list_url, other_organisations_connection):
    response = client.post(url_for_test(list_url, other_organisations_connection.id))

    assert response.status_code == 404


def test_test__unknown_id__returns_404(client, list_url):
    response = client.post(url_for_test(list_url, "wc_00000000000000000000"))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_test__read_only_key__returns_403_and_records_nothing(app, list_url, created, organisation, emulated_account):
    client = app.test_client(headers={"Authorization": f"Api-Key {issue_key(organisation, read_only=True)}"})

    response = client.post(url_for_test(list_url, created["id"]))

    assert response.status_code == 403
    assert emulated_account.requests == []


@pytest.mark.parametrize("failure", [None, "reject_jwt"], ids=["logged_in", "login_refused"])
def test_test__connector_connections__are_left_alone_by_the_garbage_collector(
    client, list_url, created, emulated_account, monkeypatch, failure
):
    # The connector's finalizer, run inside a ContextVar.set, crashes CPython 3.11 (warehouses/snowflake/checks.py).
    emulated_account.failure = failure
    made, finalized = [], []
    init = SnowflakeConnection.__init__

    def recorded_init(self, *args, **kwargs):
        made.append(weakref.ref(self))
        init(self, *args, **kwargs)

    monkeypatch.setattr(SnowflakeConnection, "__init__", recorded_init)
    monkeypatch.setattr(SnowflakeConnection, "_try_close", lambda self: finalized.append("the finalizer ran"))

    response = client.post(url_for_test(list_url, created["id"]))
    gc.collect()

    assert response.json()["success"] is (failure is None)
    assert [connection() for connection in made] == [None]
    assert finalized == []


def test_test__no_endpoint_configured__reaches_the_accounts_own_host(settings):
    session = checks.Session(
        "wc_x",
        {
            "account_identifier": "xy12345.us-east-1",
            **dict.fromkeys(("warehouse", "database", "schema", "role", "user"), "X"),
        },
        b"der",
        dataclasses.replace(settings, snowflake_endpoint=None),
        diagnosis=None,
    )

    arguments = checks.connect_arguments(session)

    assert (arguments["host"], arguments["port"], arguments["protocol"]) == (
        "xy12345.us-east-1.snowflakecomputing.com",
        443,
        "https",
    )
    assert arguments["account"] == "xy12345.us-east-1"
    assert arguments["login_timeout"] == arguments["query_timeout"] == settings.snowflake_login_timeout
