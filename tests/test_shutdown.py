"""What the shutdown does to requests in flight (warehouse_connections/web/shutdown.py), in process.

tests/test_operating.py sends SIGTERM to a real `serve`; these take the parts one at a time.
"""

import asyncio

import orjson
import pytest

from models import Secret, WarehouseConnection, database
from warehouse_connections.infrastructure import abandonment
from warehouse_connections.web.shutdown import Shutdown, ShutdownMiddleware
from warehouses import connections

SCOPE = {"type": "http", "method": "POST", "path": "/"}
OK = [
    {"type": "http.response.start", "status": 200, "headers": []},
    {"type": "http.response.body", "body": b"done"},
]


def serve_until_shut_down(app, timeout: float) -> list[dict]:
    """The messages the middleware sends for one request, the shutdown begun as the request starts."""

    async def scenario():
        sent, shutdown = [], Shutdown()

        async def send(message):
            sent.append(message)

        request = asyncio.create_task(ShutdownMiddleware(app, shutdown)(SCOPE, None, send))
        await asyncio.sleep(0)
        shutdown.begin(timeout)
        await asyncio.wait_for(request, timeout=5)
        return sent

    return asyncio.run(scenario())


async def never_answers(scope, receive, send):
    await asyncio.Event().wait()


async def answers_after_its_point_of_no_return(scope, receive, send):
    abandonment.point_of_no_return()
    await asyncio.sleep(0.2)
    for message in OK:
        await send(message)


async def begins_its_answer_then_finishes_it_late(scope, receive, send):
    await send(OK[0])
    await asyncio.sleep(0.2)
    await send(OK[1])


def test_shutdown__request_still_running_at_the_timeout__is_answered_503_problem():
    sent = serve_until_shut_down(never_answers, timeout=0.05)

    assert sent[0] == {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(sent[1]["body"])).encode()),
            (b"retry-after", b"5"),
        ],
    }
    assert orjson.loads(sent[1]["body"]) == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The service is stopping and this request did not finish in time; it changed nothing. Try again.",
    }
    assert len(sent) == 2


def test_shutdown__request_past_its_point_of_no_return__gets_its_own_answer():
    sent = serve_until_shut_down(answers_after_its_point_of_no_return, timeout=0.05)

    assert sent == OK


def test_shutdown__answer_begun_before_the_timeout__is_finished_not_replaced():
    # Its start committed the work: at the timeout it is not abandoned, and its body still goes out.
    sent = serve_until_shut_down(begins_its_answer_then_finishes_it_late, timeout=0.05)

    assert sent == OK


def test_work__once_committed__stays_committed_and_cannot_be_abandoned():
    work = abandonment.Work()

    assert work.commit() and work.commit()
    assert not work.abandon()


def test_work__once_abandoned__never_commits():
    work = abandonment.Work()

    assert work.abandon()
    assert not work.commit() and not work.commit()


@pytest.fixture
def abandoned():
    """The current request's work, abandoned by the shutdown."""
    work = abandonment.Work()
    work.abandon()
    reset = abandonment.current.set(work)
    yield work
    abandonment.current.reset(reset)


def test_run_test__abandoned_by_the_shutdown__records_nothing(
    client, list_url, created, emulated_account, app_state, abandoned
):
    with database.connection_context(), pytest.raises(abandonment.Abandoned):
        connections.run_test(
            int(list_url.split("/")[4]), created["id"], app_state.settings, app_state.tests, tested_by="wck_test"
        )

    assert client.get(f"{list_url}{created['id']}/").json() == created
    assert client.get(f"{list_url}{created['id']}/tests/").json() == []
    assert "/session/v1/login-request" in emulated_account.paths()


def test_create__abandoned_by_the_shutdown__stores_nothing(organisation, settings, abandoned):
    with database.connection_context(), pytest.raises(abandonment.Abandoned):
        connections.create(organisation.id, {"type": "snowflake", "account_identifier": "xy12345"}, settings)

    with database.connection_context():
        assert (WarehouseConnection.select().count(), Secret.select().count()) == (0, 0)


@pytest.mark.parametrize(
    "change",
    [
        lambda organisation_pk, id, settings: connections.patch(
            organisation_pk, id, {"warehouse": "LOAD_WH"}, settings
        ),
        lambda organisation, id, settings: connections.delete(organisation, id),
    ],
    ids=["patch", "delete"],
)
def test_change__abandoned_by_the_shutdown__changes_nothing(client, list_url, created, settings, change, abandoned):
    with database.connection_context(), pytest.raises(abandonment.Abandoned):
        change(int(list_url.split("/")[4]), created["id"], settings)

    assert client.get(f"{list_url}{created['id']}/").json() == created
