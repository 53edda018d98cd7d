import pytest
from peewee import OperationalError

from handlers import health
from tests.problems import assert_problem


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
