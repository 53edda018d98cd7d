"""Bounds on a request's headers and on how long its body may take, in process (web/guard.py).

What uvicorn's connection layer bounds before the app sees a request (web/http_protocol.py) is tested
against a real `serve` in tests/test_connection_limits.py.
"""

import asyncio
import dataclasses

import httpx
import pytest
from connexion.exceptions import ProblemException

from tests.examples import API_OPERATIONS
from tests.problems import assert_problem
from tests.status_coverage import StatusRecorder
from warehouse_connections.app import create_app
from warehouse_connections.web.guard import RequestGuardMiddleware

JSON = {"Content-Type": "application/json"}
# The operations spec's, as its paths are served.
OPERATIONS = [("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics")]
ONE_TOO_MANY = {f"X-Extra-{number}": "1" for number in range(101)}
BODY_OPERATIONS = [
    ("POST", ""),
    ("PUT", "wc_abc123def456ghi7/"),
    ("PATCH", "wc_abc123def456ghi7/"),
    ("POST", "wc_abc123def456ghi7/test/"),
]


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_headers__more_than_100__returns_431(client, list_url, method, path):
    response = client.request(method, f"{list_url}{path}", headers=ONE_TOO_MANY)

    assert_problem(response, 431, "Request Header Fields Too Large", "The request has more than 100 headers.")


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_headers__more_than_100_to_an_operations_path__returns_431(anonymous_client, method, path):
    response = anonymous_client.request(method, path, headers=ONE_TOO_MANY)

    assert_problem(response, 431, "Request Header Fields Too Large", "The request has more than 100 headers.")


def guard_sees(headers: list[tuple[bytes, bytes]]) -> str:
    """What the guard does with a GET with these headers: "passed" on, or the status it raises."""

    async def inner(scope, receive, send):
        pass

    guard = RequestGuardMiddleware(inner, integer_routes=[], max_headers=100, body_timeout=10)
    try:
        asyncio.run(guard({"type": "http", "path": "/", "headers": headers}, None, None))
    except ProblemException as problem:
        return str(problem.status)
    return "passed"


@pytest.mark.parametrize(("count", "outcome"), [(100, "passed"), (101, "431")])
def test_guard__header_count_at_and_over_the_limit__passes_then_431(count, outcome):
    assert guard_sees([(b"x-extra", b"1")] * count) == outcome


@pytest.fixture(scope="module")
def impatient_app(app, settings):
    """An app like the session's whose bodies must arrive within 0.2 s; it records statuses too."""
    return create_app(dataclasses.replace(settings, body_timeout=0.2), outer_middlewares=(StatusRecorder,))


def send_stalling_body(app, method: str, url: str, headers: dict) -> httpx.Response:
    """Sends the start of a body, then nothing more, while waiting for the answer."""

    async def start_then_stall():
        yield b'{"type": "snowflake", '
        await asyncio.Event().wait()

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            return await client.request(method, url, content=start_then_stall(), headers=headers)

    # A deadline of its own: without a bound on the body, the app would wait for ever.
    return asyncio.run(asyncio.wait_for(scenario(), timeout=5))


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
@pytest.mark.parametrize("length", [{"Content-Length": "60"}, {}], ids=["content-length", "chunked"])
def test_body__stops_arriving__returns_408_and_closes(impatient_app, api_key, list_url, method, path, length):
    headers = {**JSON, **length, "Authorization": f"Api-Key {api_key}"}

    response = send_stalling_body(impatient_app, method, f"{list_url}{path}", headers)

    assert_problem(response, 408, "Request Timeout", "The request body did not arrive within 0.2 seconds.")
    assert response.headers["connection"] == "close"
