"""POST …/{id}/test/: the real Snowflake connector against a loopback emulator, never a real host."""

import re
import threading
import time

import pytest

from models import WarehouseConnection, database
from tests.examples import issue_key
from warehouses import key_pair, snowflake

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def url_for_test(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/test/"


def test_test__setup_script_was_run__succeeds_and_records_connected(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]), json={})

    result = response.json()
    assert response.status_code == 200
    assert result == {"success": True, "tested_at": result["tested_at"]}
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
    assert [entry["sql"] for entry in emulated_account.requests if "sql" in entry] == [
        "SELECT 1",
        'LIST @"FLAGSMITH"."ANALYTICS"."FLAGSMITH_STAGE"',
    ]


def test_test__no_body__is_the_same_as_an_empty_object(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]))

    assert response.status_code == 200
    assert response.json()["success"] is True


def test_test__body_with_a_field__returns_400(client, list_url, created, emulated_account):
    response = client.post(url_for_test(list_url, created["id"]), json={"force": True})

    assert response.status_code == 400
    assert response.json()["detail"] == "Additional properties are not allowed ('force' was unexpected)"


FAILURES = [
    # (emulator switch, what the connector's message starts with)
    ("reject_jwt", "390144 (28000): Failed to login: Login error: JWT token is invalid."),
    (
        "http_403",
        "250001 (08001): Failed to login: Invalid Snowflake response. Snowflake responded with error status: 403",
    ),
]


@pytest.mark.parametrize(("failure", "message"), FAILURES, ids=[failure for failure, _ in FAILURES])
def test_test__account_refuses__returns_200_with_the_raw_error_and_records_it(
    client, list_url, created, emulated_account, failure, message
):
    emulated_account.failure = failure

    response = client.post(url_for_test(list_url, created["id"]), json={})

    result = response.json()
    assert response.status_code == 200
    assert result == {"success": False, "tested_at": result["tested_at"], "error": result["error"]}
    assert result["error"].startswith(message)
    stored = client.get(f"{list_url}{created['id']}/").json()
    assert (stored["status"], stored["last_tested_at"], stored["last_error"]) == (
        "error",
        result["tested_at"],
        result["error"],
    )


def test_test__key_not_registered_for_the_user__fails_with_jwt_invalid(
    client, list_url, created, snowflake_emulator, point_snowflake_at
):
    # The customer set another key on the user (or has not run the script since the connection was made).
    config = created["config"]
    other_key = key_pair.generate(2048).public_key
    snowflake_emulator.register_user(config["account_identifier"], config["user"], other_key)
    point_snowflake_at(snowflake_emulator.url)

    result = client.post(url_for_test(list_url, created["id"])).json()

    assert result["success"] is False
    assert result["error"].startswith("390144 (28000): Failed to login: Login error: JWT token is invalid.")


def test_test__account_unavailable__fails_within_the_bound(client, list_url, created, emulated_account, settings):
    emulated_account.failure = "http_503"

    started = time.monotonic()
    result = client.post(url_for_test(list_url, created["id"])).json()

    assert time.monotonic() - started < settings.snowflake_login_timeout + 5
    assert result["success"] is False
    # Retried until the attempts or the login timeout run out, whichever comes first.
    assert result["error"].startswith(("250001 (08001): Failed to login", "000014 (HYT00): Failed to login"))


def test_test__account_hangs__answers_within_the_login_timeout(client, list_url, created, emulated_account, settings):
    emulated_account.failure = "hang"

    started = time.monotonic()
    response = client.post(url_for_test(list_url, created["id"]))
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["error"] == (
        f"000014 (HYT00): Failed to login: login timed out after {settings.snowflake_login_timeout}s"
    )
    assert settings.snowflake_login_timeout <= elapsed < settings.snowflake_login_timeout + 5


def test_test__stage_missing__fails_naming_the_stage(client, list_url, created, snowflake_emulator, point_snowflake_at):
    config = created["config"]
    snowflake_emulator.register_user(config["account_identifier"], config["user"], created["public_key"])
    point_snowflake_at(snowflake_emulator.url)

    result = client.post(url_for_test(list_url, created["id"])).json()

    assert result["success"] is False
    assert result["error"].startswith(
        "002003 (02000): SQL compilation error:\n"
        "Stage 'FLAGSMITH.ANALYTICS.FLAGSMITH_STAGE' does not exist or not authorized."
    )


def test_test__nothing_listens__fails_with_connection_refused(
    client, list_url, created, closed_snowflake_url, point_snowflake_at
):
    point_snowflake_at(closed_snowflake_url)

    result = client.post(url_for_test(list_url, created["id"])).json()

    assert result["success"] is False
    assert result["error"].startswith(("250001 (08001): Failed to login", "000014 (HYT00): Failed to login"))


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


def test_test__no_endpoint_configured__lets_the_connector_derive_the_host(settings):
    arguments = snowflake.connect_arguments(
        snowflake._TestSession(
            {
                "account_identifier": "xy12345.us-east-1",
                **dict.fromkeys(("warehouse", "database", "schema", "role", "user"), "X"),
            },
            b"der",
            settings,
        )
    )

    assert "host" not in arguments and "port" not in arguments and "protocol" not in arguments
    assert arguments["account"] == "xy12345.us-east-1"
    assert arguments["login_timeout"] == arguments["query_timeout"] == settings.snowflake_login_timeout
