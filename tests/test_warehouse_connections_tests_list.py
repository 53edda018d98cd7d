"""GET …/{id}/tests/: a connection's test history, newest first, and POST …/test/ beyond the concurrency limit."""

import json
import threading
import time

from models import ConnectionTest, database
from models.connection_test import HISTORY_LENGTH
from tests import leak_guard
from tests.examples import issue_key
from tests.problems import assert_problem
from warehouses import connections


def history_url(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/tests/"


def run_test(client, list_url: str, connection_id: str) -> dict:
    response = client.post(f"{list_url}{connection_id}/test/")
    assert response.status_code == 200
    return response.json()


def test_history__never_tested__returns_an_empty_list(client, list_url, created):
    response = client.get(history_url(list_url, created["id"]))

    assert response.status_code == 200
    assert response.json() == []


def test_history__after_two_tests__returns_each_as_it_answered_newest_first(
    client, list_url, created, emulated_account, api_key
):
    emulated_account.failure = "reject_jwt"
    failed = run_test(client, list_url, created["id"])
    emulated_account.failure = None
    passed = run_test(client, list_url, created["id"])

    response = client.get(history_url(list_url, created["id"]))

    prefix = api_key[:12]
    assert response.status_code == 200
    assert response.json() == [{"tested_by": prefix, "result": passed}, {"tested_by": prefix, "result": failed}]


def test_history__more_than_twenty_tests__keeps_the_newest_twenty(client, list_url, created, emulated_account):
    emulated_account.failure = "reject_jwt"
    for _ in range(HISTORY_LENGTH):
        run_test(client, list_url, created["id"])
    emulated_account.failure = None
    newest = run_test(client, list_url, created["id"])

    history = client.get(history_url(list_url, created["id"])).json()

    assert len(history) == HISTORY_LENGTH
    assert history[0]["result"] == newest
    assert [entry["result"]["success"] for entry in history] == [True] + [False] * (HISTORY_LENGTH - 1)
    with database.connection_context():
        assert ConnectionTest.select().count() == HISTORY_LENGTH


def test_history__connection_edited__keeps_its_results(client, list_url, created, emulated_account):
    result = run_test(client, list_url, created["id"])

    client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"})

    assert [entry["result"] for entry in client.get(history_url(list_url, created["id"])).json()] == [result]


def test_history__connection_deleted__deletes_its_results(client, list_url, created, emulated_account):
    run_test(client, list_url, created["id"])

    client.delete(f"{list_url}{created['id']}/")

    assert client.get(history_url(list_url, created["id"])).status_code == 404
    with database.connection_context():
        assert ConnectionTest.select().count() == 0


def test_history__stored_results__hold_no_secret(client, list_url, created, emulated_account):
    emulated_account.failure = "reject_jwt"
    run_test(client, list_url, created["id"])
    emulated_account.failure = None
    run_test(client, list_url, created["id"])

    with database.connection_context():
        stored = [json.dumps(row.__data__, default=str) for row in ConnectionTest.select()]

    assert len(stored) == 2
    for text in stored:
        leak_guard.assert_no_secret_in(text)


def test_history__read_only_key__may_read_it(app, list_url, created, organisation, emulated_account, client):
    run_test(client, list_url, created["id"])
    reader = app.test_client(headers={"Authorization": f"Api-Key {issue_key(organisation, read_only=True)}"})

    response = reader.get(history_url(list_url, created["id"]))

    assert response.status_code == 200
    assert len(response.json()) == 1


def test_history__no_key__returns_401(anonymous_client, list_url, created):
    response = anonymous_client.get(history_url(list_url, created["id"]))

    assert_problem(response, 401, "Unauthorized", "No authorization token provided")


def test_history__other_organisations_key__returns_403(app, list_url, created, other_organisation):
    stranger = app.test_client(headers={"Authorization": f"Api-Key {issue_key(other_organisation)}"})

    response = stranger.get(history_url(list_url, created["id"]))

    assert_problem(response, 403, "Forbidden", "This API key belongs to another organisation.")


def test_history__other_organisations_connection__returns_404(client, list_url, other_organisations_connection):
    response = client.get(history_url(list_url, other_organisations_connection.id))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_test__every_slot_taken__returns_503_at_once_and_runs_nothing(
    one_test_at_a_time, list_url, created, emulated_account, monkeypatch
):
    client, refused_where = one_test_at_a_time
    emulated_account.login_delay = 2
    slow = threading.Thread(target=lambda: client.post(f"{list_url}{created['id']}/test/"))
    slow.start()
    deadline = time.monotonic() + 10
    while "/session/v1/login-request" not in emulated_account.paths() and time.monotonic() < deadline:
        time.sleep(0.02)
    if refused_where == "on the event loop":
        # The handler must not be reached at all: it would answer 500 now.
        monkeypatch.setattr(connections, "run_test", None)

    started = time.monotonic()
    response = client.post(f"{list_url}{created['id']}/test/")
    refused_after = time.monotonic() - started
    listed = client.get(list_url)
    slow.join(timeout=30)

    assert_problem(
        response,
        503,
        "Service Unavailable",
        "Too many connection tests are running (at most 1 at once); try again in 5 seconds.",
        request_id=response.headers["X-Request-ID"],
    )
    assert response.headers["Retry-After"] == "5"
    assert refused_after < 1.0
    assert listed.status_code == 200
    assert emulated_account.paths().count("/session/v1/login-request") == 1
    assert len(client.get(history_url(list_url, created["id"])).json()) == 1
