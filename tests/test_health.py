import threading
import time

import pytest
from peewee import OperationalError

from handlers import health
from models import database
from tests.problems import assert_problem
from warehouse_connections.app import create_app


def test_health__process_up__returns_ok(anonymous_client):
    response = anonymous_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready__database_up_and_migrated__returns_ready(anonymous_client):
    response = anonymous_client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_ready__migrations_pending__returns_503(anonymous_client, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["0002_next"])

    response = anonymous_client.get("/ready")

    assert response.headers["retry-after"] == "5"
    assert_problem(
        response,
        503,
        "Service Unavailable",
        "Migrations are pending: 0002_next.",
        request_id=response.headers["x-request-id"],
    )


def test_ready__database_unreachable__returns_503(anonymous_client, monkeypatch):
    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "pending_migrations", unreachable)

    response = anonymous_client.get("/ready")

    assert response.status_code == 503
    assert response.json()["detail"] == "The database cannot be reached."


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_operations__wrong_method__returns_405_allowing_get(anonymous_client, path):
    response = anonymous_client.post(path)

    assert response.headers["allow"] == "GET, HEAD"
    assert_problem(response, 405, "Method Not Allowed", "The method is not allowed for the requested URL.")


def test_metrics__get__serves_prometheus_text(anonymous_client):
    response = anonymous_client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE wc_requests_total counter" in response.text


@pytest.fixture
def probe_threads(monkeypatch) -> list[str]:
    """The name of the thread each probe and /ready's database check ran on."""
    names = []
    for name in ("health", "metrics"):
        original = getattr(health, name)

        async def recorded(run_blocking, _original=original):
            names.append(threading.current_thread().name)
            return await _original(run_blocking)

        monkeypatch.setattr(health, name, recorded)
    pending = health.pending_migrations
    monkeypatch.setattr(
        health, "pending_migrations", lambda: names.append(threading.current_thread().name) or pending()
    )
    return names


def test_probes__any_of_them__run_on_the_event_loop_and_check_the_database_on_threads_of_their_own(
    settings, probe_threads
):
    client = create_app(settings).test_client()  # built after probe_threads, so that it routes to the recorded ones

    assert [client.get(path).status_code for path in ("/health", "/ready", "/metrics")] == [200, 200, 200]
    health_thread, check_thread, metrics_thread = probe_threads
    # a2wsgi's request threads are named WSGI_…; the test client runs the event loop on one of its own.
    assert [name.startswith("WSGI") for name in (health_thread, metrics_thread)] == [False, False]
    assert check_thread.startswith("probe_")


def test_health__database_down__still_answers_ok(anonymous_client, monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(database.obj, "connect", refused)

    response = anonymous_client.get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready__database_hangs__answers_503_within_its_bound(anonymous_client, monkeypatch):
    released = threading.Event()
    monkeypatch.setattr(health, "pending_migrations", lambda: released.wait(30))
    started = time.monotonic()

    try:
        response = anonymous_client.get("/ready")
        elapsed = time.monotonic() - started
    finally:
        released.set()

    assert elapsed < health.READY_TIMEOUT_SECONDS + 1
    assert_problem(
        response,
        503,
        "Service Unavailable",
        "The database did not answer within 1 s.",
        request_id=response.headers["x-request-id"],
    )
