"""Key rotation against what happens meanwhile: edits, cancels, deletes, tests and a full test pool."""

import threading
import time

import pytest

from models import KeyRotation, Secret, WarehouseConnection, database
from models.secret import PENDING_PRIVATE_KEY, PRIVATE_KEY
from tests.interleaving import Interleaved
from tests.key_rotations import complete_url, rotation_url, run_rotation_script
from tests.problems import assert_problem
from warehouses import key_rotations, snowflake

LOGIN = "/session/v1/login-request"


def stale(connection_id: str) -> tuple:
    return (
        409,
        "Conflict",
        f"Warehouse connection '{connection_id}' or its key rotation changed while the new key was being checked; "
        "nothing changed. Complete the rotation again.",
    )


def in_background(call) -> tuple[threading.Thread, dict]:
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(response=call()))
    thread.start()
    return thread, outcome


def wait_for_logins(emulator, count: int) -> None:
    deadline = time.monotonic() + 10
    while emulator.paths().count(LOGIN) < count and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def ready(client, list_url, created, emulated_account) -> dict:
    """A rotation started and its script run: completing it would succeed."""
    rotation = client.post(rotation_url(list_url, created["id"])).json()
    run_rotation_script(emulated_account, created, rotation)
    return rotation


def complete_slowly(client, list_url, connection_id, emulator) -> tuple[threading.Thread, dict]:
    """A completion whose login the account answers only after 1.5 s; returns once the login has arrived."""
    emulator.login_delay = 1.5
    completing = in_background(lambda: client.post(complete_url(list_url, connection_id)))
    wait_for_logins(emulator, 1)
    return completing


def stored_keys(connection_id: str) -> tuple[str, set[str], int]:
    with database.connection_context():
        connection = WarehouseConnection.get_by_id(connection_id)
        names = {row.name for row in Secret.select().where(Secret.connection == connection_id)}
        return connection.public_key, names, KeyRotation.select().count()


def test_complete__connection_edited_while_the_key_is_checked__returns_409_and_changes_nothing(
    client, list_url, created, ready, emulated_account
):
    (completing, outcome) = complete_slowly(client, list_url, created["id"], emulated_account)

    edited = client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"}).json()
    completing.join(timeout=30)

    assert_problem(outcome["response"], *stale(created["id"]))
    assert client.get(f"{list_url}{created['id']}/").json() == edited
    assert edited["public_key"] == created["public_key"]
    assert stored_keys(created["id"]) == (created["public_key"], {PRIVATE_KEY, PENDING_PRIVATE_KEY}, 1)
    # The rotation is still pending: completing it again, now, succeeds.
    emulated_account.login_delay = 0
    again = client.post(complete_url(list_url, created["id"]))
    assert again.status_code == 200
    assert again.json()["connection"]["config"] == edited["config"]
    assert again.json()["connection"]["public_key"] == ready["public_key"]


def test_complete__rotation_restarted_while_the_key_is_checked__returns_409_and_keeps_the_new_rotation(
    client, list_url, created, ready, emulated_account
):
    (completing, outcome) = complete_slowly(client, list_url, created["id"], emulated_account)

    client.delete(rotation_url(list_url, created["id"]))
    restarted = client.post(rotation_url(list_url, created["id"])).json()
    completing.join(timeout=30)

    assert_problem(outcome["response"], *stale(created["id"]))
    assert client.get(rotation_url(list_url, created["id"])).json() == restarted
    assert client.get(f"{list_url}{created['id']}/").json() == created


def test_complete__connection_deleted_while_the_key_is_checked__returns_409_and_it_stays_deleted(
    client, list_url, created, ready, emulated_account
):
    (completing, outcome) = complete_slowly(client, list_url, created["id"], emulated_account)

    client.delete(f"{list_url}{created['id']}/")
    completing.join(timeout=30)

    assert_problem(outcome["response"], *stale(created["id"]))
    with database.connection_context():
        assert (WarehouseConnection.select().count(), Secret.select().count(), KeyRotation.select().count()) == (
            0,
            0,
            0,
        )


def test_complete__rotation_cancelled_while_its_key_is_read__returns_409_and_it_stays_cancelled(
    client, list_url, created, ready, emulated_account, monkeypatch
):
    url = rotation_url(list_url, created["id"])
    cancelling = Interleaved(monkeypatch, Secret, "reveal", lambda: client.delete(url))
    cancelling.ends_before(snowflake, "check_login")

    response = client.post(complete_url(list_url, created["id"]))

    assert cancelling.finished().status_code == 204
    assert_problem(response, *stale(created["id"]))
    assert client.get(url).status_code == 404
    assert client.get(f"{list_url}{created['id']}/").json() == created
    assert stored_keys(created["id"]) == (created["public_key"], {PRIVATE_KEY}, 0)


def test_complete__connection_deleted_as_the_new_key_is_stored__answers_the_completion_and_it_stays_deleted(
    client, list_url, created, ready, monkeypatch
):
    url = f"{list_url}{created['id']}/"
    # The completion's answer is read back after its update: the delete starts there.
    deleting = Interleaved(monkeypatch, WarehouseConnection, "get_by_id", lambda: client.delete(url))

    response = client.post(complete_url(list_url, created["id"]))

    assert response.status_code == 200
    assert response.json()["connection"]["public_key"] == ready["public_key"]
    assert deleting.finished().status_code == 204
    with database.connection_context():
        assert (WarehouseConnection.select().count(), Secret.select().count(), KeyRotation.select().count()) == (
            0,
            0,
            0,
        )


def test_test__running_with_the_old_key_when_the_rotation_completes__returns_409_and_records_nothing(
    client, list_url, created, ready, emulated_account
):
    emulated_account.login_delay = 1.5
    testing, outcome = in_background(lambda: client.post(f"{list_url}{created['id']}/test/"))
    wait_for_logins(emulated_account, 1)
    emulated_account.login_delay = 0  # the test's login waits already; the completion's does not

    completed = client.post(complete_url(list_url, created["id"]))
    testing.join(timeout=30)

    assert completed.status_code == 200
    assert outcome["response"].status_code == 409
    assert client.get(f"{list_url}{created['id']}/tests/").json() == []
    assert client.get(f"{list_url}{created['id']}/").json() == completed.json()["connection"]


def test_start__twice_at_once__one_rotation_is_pending_with_one_key(client, list_url, created):
    calls = [in_background(lambda: client.post(rotation_url(list_url, created["id"]))) for _ in range(2)]
    for thread, _ in calls:
        thread.join(timeout=30)

    statuses = sorted(outcome["response"].status_code for _, outcome in calls)
    (winner,) = [outcome["response"].json() for _, outcome in calls if outcome["response"].status_code == 201]
    assert statuses == [201, 409]
    assert client.get(rotation_url(list_url, created["id"])).json() == winner
    with database.connection_context():
        assert Secret.select().where(Secret.name == PENDING_PRIVATE_KEY).count() == 1


def test_complete__every_test_slot_taken__returns_503_at_once_and_changes_nothing(
    one_test_at_a_time, list_url, created, ready, emulated_account, monkeypatch
):
    client, refused_where = one_test_at_a_time
    emulated_account.login_delay = 2
    testing, _ = in_background(lambda: client.post(f"{list_url}{created['id']}/test/"))
    wait_for_logins(emulated_account, 1)
    if refused_where == "on the event loop":
        monkeypatch.setattr(key_rotations, "complete", None)  # the handler must not be reached at all

    started = time.monotonic()
    response = client.post(complete_url(list_url, created["id"]))
    refused_after = time.monotonic() - started
    testing.join(timeout=30)

    assert_problem(
        response,
        503,
        "Service Unavailable",
        "Too many connection tests are running (at most 1 at once); try again in 5 seconds.",
        request_id=response.headers["X-Request-ID"],
    )
    assert response.headers["Retry-After"] == "5"
    assert refused_after < 1.0
    assert emulated_account.paths().count(LOGIN) == 1
    assert stored_keys(created["id"]) == (created["public_key"], {PRIVATE_KEY, PENDING_PRIVATE_KEY}, 1)
