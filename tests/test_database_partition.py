"""A network partition between `serve` and PostgreSQL: 503s within the bound, an event loop that never stalls,
and recovery without a restart.

The relay (tests/tcp_relay.py) goes silent as a partition does: connections stay open, what the service sends is
taken, nothing comes back. Only the service's own bounds end its waits: 2 s for a request (models/storage.py),
50 ms for the event loop (models/postgresql.py).
"""

import logging
import threading
import time

import httpx
import pytest

from models import WarehouseConnection, database
from tests.problems import assert_database_unavailable

# The service's bound (README, "Database outage"), and a margin for a busy machine shared with other runs.
BOUND_SECONDS = 2.0 + 0.5
# What "promptly" means for a request that does not need the database.
PROMPT_SECONDS = 0.1
# From the relay resuming to the first 200: the service reconnects as soon as it is asked.
RECOVERY_SECONDS = 2.0
# Long enough that the fast path's 5 s on the threads runs out and the event loop tries the database again.
PARTITION_SECONDS = 6.5
# Short of forever: on a service that waits without bound, each request fails after this long.
CLIENT_TIMEOUT_SECONDS = 10
EXAMPLE_ID = "wc_abc123def456ghi7"
CREATE = {"type": "snowflake", "account_identifier": "xy12345"}
EVENT_LOOP_GAVE_UP = (
    "database error on the event loop, inline operations run in threads for 5 s: "
    "OperationalError: the database did not answer within 0.05 s"
)


@pytest.fixture
def serve_through_relay(start_server, postgresql_relay, settings):
    """Starts `serve` on the suite's database, through the relay; returns its base URL."""

    def serve(**env: str) -> str:
        return start_server(DATABASE_URL=postgresql_relay.reroute(settings.database_url), **env)

    return serve


def timed(http: httpx.Client, method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.request(method, url, **kwargs)
    return response, time.monotonic() - started


def api_client(base_url: str, api_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Api-Key {api_key}"}, timeout=CLIENT_TIMEOUT_SECONDS
    )


def log_lines(start_server, base_url: str) -> list[str]:
    return start_server.logs[base_url].read_text().splitlines()


def test_partition__key_looked_up_on_every_request__list_get_and_create_answer_503_within_the_bound(
    serve_through_relay, start_server, postgresql_relay, api_key, list_url
):
    base_url = serve_through_relay(WC_API_KEY_CACHE_SECONDS="0")
    with api_client(base_url, api_key) as http:
        assert http.get(list_url).status_code == 200  # the pool now holds a connection the partition silences
        postgresql_relay.pause()
        answers = [
            timed(http, "GET", list_url),
            timed(http, "GET", f"{list_url}{EXAMPLE_ID}/"),
            timed(http, "POST", list_url, json=CREATE),
        ]

    for response, _ in answers:
        assert_database_unavailable(response)
    durations = [round(seconds, 2) for _, seconds in answers]
    assert max(durations) < BOUND_SECONDS, durations
    # The first read met the silent connection on the event loop, which gave up at once.
    assert sum(EVENT_LOOP_GAVE_UP in line for line in log_lines(start_server, base_url)) == 1


def test_partition__api_key_cached__list_and_get_answer_503_within_the_bound(
    serve_through_relay, start_server, postgresql_relay, api_key, list_url
):
    base_url = serve_through_relay(WC_API_KEY_CACHE_SECONDS="60")
    with api_client(base_url, api_key) as http:
        assert http.get(list_url).status_code == 200  # the key is cached: the list itself meets the partition
        postgresql_relay.pause()
        answers = [timed(http, "GET", list_url), timed(http, "GET", f"{list_url}{EXAMPLE_ID}/")]

    for response, _ in answers:
        assert_database_unavailable(response)
    durations = [round(seconds, 2) for _, seconds in answers]
    assert max(durations) < BOUND_SECONDS, durations
    assert sum(EVENT_LOOP_GAVE_UP in line for line in log_lines(start_server, base_url)) == 1


def test_partition__reads_waiting_on_the_database__health_spec_and_unknown_paths_answer_within_100_ms_throughout(
    serve_through_relay, postgresql_relay, api_key, list_url, caplog
):
    quiet_http_client_logs(caplog)
    base_url = serve_through_relay(WC_API_KEY_CACHE_SECONDS="0")
    answers = {"/health": [], "/api/v1/openapi.json": [], "/no/such/path": []}
    with api_client(base_url, api_key) as http:
        # Each path once before: a first request's one-off work (imports, caches) is not what is measured.
        assert [http.get(path).status_code for path in (list_url, *answers)] == [200, 200, 200, 404]
    partitioned = threading.Event()
    reads = threading.Thread(target=read_until_cleared, args=(base_url, api_key, list_url, partitioned))
    postgresql_relay.pause()
    partitioned.set()
    reads.start()
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT_SECONDS) as http:
        deadline = time.monotonic() + PARTITION_SECONDS
        while time.monotonic() < deadline:
            for path, timings in answers.items():
                response, seconds = timed(http, "GET", path)
                timings.append((response.status_code, round(seconds, 3)))
    partitioned.clear()
    reads.join(timeout=CLIENT_TIMEOUT_SECONDS)

    assert {path: {status for status, _ in timings} for path, timings in answers.items()} == {
        "/health": {200},
        "/api/v1/openapi.json": {200},
        "/no/such/path": {404},
    }
    slowest = {path: max(seconds for _, seconds in timings) for path, timings in answers.items()}
    assert max(slowest.values()) < PROMPT_SECONDS, slowest


def quiet_http_client_logs(caplog) -> None:
    # Thousands of requests' debug records would make this process, not the service, the slow one.
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=name)


def read_until_cleared(base_url: str, api_key: str, list_url: str, partitioned: threading.Event) -> None:
    """Lists and gets, one after the other, for as long as the partition lasts."""
    with api_client(base_url, api_key) as http:
        while partitioned.is_set():
            http.get(list_url)
            http.get(f"{list_url}{EXAMPLE_ID}/")


def test_partition__relay_resumes__service_answers_200_again_and_the_failed_write_did_not_happen(
    serve_through_relay, postgresql_relay, organisation, api_key, list_url
):
    base_url = serve_through_relay(WC_API_KEY_CACHE_SECONDS="0")
    with api_client(base_url, api_key) as http:
        assert http.get(list_url).status_code == 200
        postgresql_relay.pause()
        failed_write = http.post(list_url, json=CREATE)
        failed_read = http.get(list_url)
        postgresql_relay.resume()
        read_after, waited = poll_until_ok(http, list_url)
        write_after = http.post(list_url, json=CREATE)
        ready_after = http.get("/ready")

    assert (failed_write.status_code, failed_read.status_code) == (503, 503)
    assert (read_after.status_code, read_after.json()) == (200, [])
    assert waited < RECOVERY_SECONDS
    assert write_after.status_code == 201
    assert ready_after.status_code == 200
    with database.connection_context():
        assert WarehouseConnection.select().where(WarehouseConnection.organisation == organisation).count() == 1


def poll_until_ok(http: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    """The first 200 for `url`, or the last answer once RECOVERY_SECONDS are up; and how long it took."""
    started = time.monotonic()
    while True:
        response = http.get(url)
        waited = time.monotonic() - started
        if response.status_code == 200 or waited > RECOVERY_SECONDS:
            return response, waited
