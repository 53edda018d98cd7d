"""PUT and PATCH: new object names, a regenerated setup script, the key pair kept, the test state reset."""

import datetime

import pytest

from models import Secret, WarehouseConnection, database
from models.secret import PRIVATE_KEY
from tests.examples import SEED_CONFIG
from tests.interleaving import Interleaved
from tests.problems import assert_problem
from warehouses import snowflake


@pytest.fixture
def tested(client, list_url, created) -> dict:
    """The created connection, as if a test had failed on it; as GET returns it."""
    with database.connection_context():
        WarehouseConnection.update(
            status="error",
            last_tested_at=datetime.datetime(2026, 4, 17, 10, 5, tzinfo=datetime.UTC),
            last_error="JWT token is invalid.",
        ).where(WarehouseConnection.id == created["id"]).execute()
    return client.get(f"{list_url}{created['id']}/").json()


def private_key_of(connection_id: str) -> bytes:
    with database.connection_context():
        return Secret.reveal(connection_id, PRIVATE_KEY)


def test_put__new_object_names__replaces_them_and_resets_the_test_state(client, list_url, tested):
    private_key_before = private_key_of(tested["id"])
    names = {"warehouse": "LOAD_WH", "database": "ANALYTICS_DB", "schema": "EVENTS", "role": "LOADER", "user": "SVC"}

    response = client.put(
        f"{list_url}{tested['id']}/", json={"type": "snowflake", "account_identifier": "xy12345.us-east-1", **names}
    )

    body = response.json()
    assert response.status_code == 200
    assert body == {
        **tested,
        "config": {"account_identifier": "xy12345.us-east-1", **names},
        "status": "pending_customer_setup",
        "setup_script": body["setup_script"],
        "last_tested_at": None,
        "last_error": None,
    }
    assert body["setup_script"] != tested["setup_script"]
    assert 'CREATE WAREHOUSE IF NOT EXISTS "LOAD_WH"' in body["setup_script"]
    assert f"RSA_PUBLIC_KEY = '{tested['public_key']}'" in body["setup_script"]
    assert private_key_of(tested["id"]) == private_key_before
    assert client.get(f"{list_url}{tested['id']}/").json() == body


def test_put__omitted_object_names__take_their_defaults(client, list_url, created):
    client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"})

    response = client.put(
        f"{list_url}{created['id']}/", json={"type": "snowflake", "account_identifier": "xy12345.us-east-1"}
    )

    assert response.status_code == 200
    assert response.json()["config"] == SEED_CONFIG


def test_put__other_account_identifier__returns_400_and_changes_nothing(client, list_url, tested):
    response = client.put(
        f"{list_url}{tested['id']}/", json={"type": "snowflake", "account_identifier": "other-account"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "'account_identifier' cannot change; delete the connection and create a new one instead.",
    }
    assert client.get(f"{list_url}{tested['id']}/").json() == tested


def test_put__invalid_name__returns_400_and_changes_nothing(client, list_url, tested):
    response = client.put(
        f"{list_url}{tested['id']}/",
        json={"type": "snowflake", "account_identifier": "xy12345.us-east-1", "role": "x; DROP DATABASE PROD"},
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "'role' does not match ^[A-Za-z_][A-Za-z0-9_$]{0,254}$"
    assert client.get(f"{list_url}{tested['id']}/").json() == tested


def test_put__unknown_id__returns_404(client, list_url):
    response = client.put(f"{list_url}wc_00000000000000000000/", json={"type": "snowflake", "account_identifier": "a"})

    assert response.status_code == 404


def test_patch__one_name__changes_only_it_and_resets_the_test_state(client, list_url, tested):
    private_key_before = private_key_of(tested["id"])

    response = client.patch(f"{list_url}{tested['id']}/", json={"warehouse": "LOAD_WH"})

    body = response.json()
    assert response.status_code == 200
    assert body["config"] == {**SEED_CONFIG, "warehouse": "LOAD_WH"}
    assert (body["status"], body["last_tested_at"], body["last_error"]) == ("pending_customer_setup", None, None)
    assert (body["id"], body["public_key"], body["created_at"]) == (
        tested["id"],
        tested["public_key"],
        tested["created_at"],
    )
    assert 'GRANT USAGE ON WAREHOUSE "LOAD_WH"' in body["setup_script"]
    assert private_key_of(tested["id"]) == private_key_before


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"type": "snowflake"}, "Additional properties are not allowed ('type' was unexpected)"),
        (
            {"account_identifier": "other"},
            "Additional properties are not allowed ('account_identifier' was unexpected)",
        ),
        ({}, "'body' must have at least 1 field(s)"),
        ({"user": "A-B"}, "'user' does not match ^[A-Za-z_][A-Za-z0-9_$]{0,254}$"),
    ],
)
def test_patch__invalid_body__returns_400_and_changes_nothing(client, list_url, tested, body, detail):
    response = client.patch(f"{list_url}{tested['id']}/", json=body)

    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert client.get(f"{list_url}{tested['id']}/").json() == tested


def test_patch__other_organisations_connection__returns_404(client, list_url, app, other_organisations_connection):
    response = client.patch(f"{list_url}{other_organisations_connection.id}/", json={"warehouse": "MINE"})

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update__read_only_key__returns_403(app, read_only_api_key, list_url, created, method):
    client = app.test_client(headers={"Authorization": f"Api-Key {read_only_api_key}"})
    body = {"warehouse": "X"} if method == "patch" else {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}

    response = getattr(client, method)(f"{list_url}{created['id']}/", json=body)

    assert response.status_code == 403


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update__connection_deleted_as_the_edit_is_stored__answers_the_edit_and_it_stays_deleted(
    client, list_url, created, monkeypatch, method
):
    url = f"{list_url}{created['id']}/"
    # The edit's answer is read back after its update: the delete starts there.
    deleting = Interleaved(monkeypatch, WarehouseConnection, "get_by_id", lambda: client.delete(url))
    body = {"warehouse": "LOAD_WH"}
    if method == "put":
        body = {**body, "type": "snowflake", "account_identifier": "xy12345.us-east-1"}

    response = getattr(client, method)(url, json=body)

    assert response.status_code == 200
    assert response.json()["config"]["warehouse"] == "LOAD_WH"
    assert deleting.finished().status_code == 204
    assert client.get(url).status_code == 404


def bump_revision(connection_id: str) -> None:
    """Another edit, landing in between."""
    with database.connection_context():
        WarehouseConnection.update(revision=WarehouseConnection.revision + 1).where(
            WarehouseConnection.id == connection_id
        ).execute()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update__destination__is_checked_outside_any_transaction(client, list_url, created, monkeypatch, method):
    # Resolving a host may take seconds; on SQLite a transaction holds the write lock for every request meanwhile.
    in_transaction = []
    monkeypatch.setattr(
        snowflake, "check_destination", lambda config, settings: in_transaction.append(database.in_transaction())
    )
    body = {"warehouse": "X"} if method == "patch" else {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}

    response = getattr(client, method)(f"{list_url}{created['id']}/", json=body)

    assert response.status_code == 200
    assert in_transaction == [False]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update__connection_changed_once_while_checked__is_checked_again_and_applied(
    client, list_url, created, monkeypatch, method
):
    checked = []

    def changes_once(config, settings):
        checked.append(config["warehouse"])
        if len(checked) == 1:
            bump_revision(created["id"])

    monkeypatch.setattr(snowflake, "check_destination", changes_once)
    body = {"warehouse": "LOAD_WH"}
    if method == "put":
        body = {**body, "type": "snowflake", "account_identifier": "xy12345.us-east-1"}

    response = getattr(client, method)(f"{list_url}{created['id']}/", json=body)

    assert response.status_code == 200
    assert response.json()["config"]["warehouse"] == "LOAD_WH"
    assert checked == ["LOAD_WH", "LOAD_WH"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update__connection_changing_every_time_it_is_checked__returns_409_and_changes_nothing(
    client, list_url, created, monkeypatch, method
):
    monkeypatch.setattr(snowflake, "check_destination", lambda config, settings: bump_revision(created["id"]))
    body = {"warehouse": "LOAD_WH"}
    if method == "put":
        body = {**body, "type": "snowflake", "account_identifier": "xy12345.us-east-1"}

    response = getattr(client, method)(f"{list_url}{created['id']}/", json=body)

    assert_problem(
        response,
        409,
        "Conflict",
        f"Warehouse connection '{created['id']}' kept changing while this edit was being checked; nothing changed. "
        "Send it again.",
    )
    assert client.get(f"{list_url}{created['id']}/").json() == created
