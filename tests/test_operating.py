"""What an operator sees of `warehouse-connections serve`: logs, metrics, CORS, shutdown, key rotation."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from cryptography.fernet import Fernet

from models import WarehouseConnection, database
from tests.problems import assert_problem
from tests.processes import free_port

CREATE = {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}


def test_serve__logs__are_one_json_object_per_line_with_one_line_per_request(start_server, list_url, api_key):
    base_url = start_server()
    httpx.get(f"{base_url}{list_url}", headers={"Authorization": f"Api-Key {api_key}", "X-Request-ID": "op-1"})
    start_server.processes[base_url].send_signal(signal.SIGTERM)
    start_server.processes[base_url].wait(timeout=15)

    lines = [json.loads(line) for line in start_server.logs[base_url].read_text().splitlines()]

    (request,) = [line for line in lines if line.get("request_id") == "op-1"]
    assert request["logger"] == "warehouse_connections.requests"
    assert (request["method"], request["operation_id"], request["status"]) == ("GET", "list_connections", 200)
    assert request["api_key_prefix"] == api_key[:12]
    assert api_key not in start_server.logs[base_url].read_text()


def test_serve__metrics_off__has_no_metrics_endpoint(start_server):
    base_url = start_server(WC_METRICS="off")

    assert httpx.get(f"{base_url}/metrics").status_code == 404


def test_serve__metrics_on_a_port_of_their_own__are_served_there_only(start_server, list_url, api_key):
    metrics_port = free_port()
    base_url = start_server("--workers", "2", WC_METRICS=str(metrics_port))
    for _ in range(4):
        httpx.get(f"{base_url}{list_url}", headers={"Authorization": f"Api-Key {api_key}"})

    exposed = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text

    assert httpx.get(f"{base_url}/metrics").status_code == 404
    # Both workers' counts, summed: four requests whichever worker answered them.
    assert 'wc_requests_total{operation="list_connections",status="200"} 4.0' in exposed


@pytest.fixture
def dashboard_server(start_server):
    return start_server(WC_CORS_ORIGINS="https://app.example.com,https://staging.example.com")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("POST", ""),
        ("GET", "wc_x/"),
        ("PUT", "wc_x/"),
        ("PATCH", "wc_x/"),
        ("DELETE", "wc_x/"),
        ("POST", "wc_x/test/"),
    ],
)
def test_cors__preflight_from_a_dashboard_origin__is_allowed(dashboard_server, list_url, method, path):
    response = httpx.options(
        f"{dashboard_server}{list_url}{path}",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert method in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_cors__preflight_from_another_origin__is_refused(dashboard_server, list_url):
    response = httpx.options(
        f"{dashboard_server}{list_url}",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"},
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(("auth", "status"), [(None, 401), ("Api-Key wck_" + "x" * 40, 401)])
def test_cors__error_responses__carry_the_cors_headers(dashboard_server, list_url, auth, status):
    headers = {"Origin": "https://staging.example.com", **({"Authorization": auth} if auth else {})}

    response = httpx.get(f"{dashboard_server}{list_url}", headers=headers)

    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == "https://staging.example.com"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_cors__not_found_and_conflict__carry_the_cors_headers(dashboard_server, list_url, api_key):
    headers = {"Origin": "https://app.example.com", "Authorization": f"Api-Key {api_key}"}
    httpx.post(f"{dashboard_server}{list_url}", headers=headers, json=CREATE)

    conflict = httpx.post(f"{dashboard_server}{list_url}", headers=headers, json=CREATE)
    missing = httpx.get(f"{dashboard_server}{list_url}wc_00000000000000000000/", headers=headers)

    assert (conflict.status_code, missing.status_code) == (409, 404)
    assert conflict.headers["access-control-allow-origin"] == missing.headers["access-control-allow-origin"]


def start_connection_test(base_url: str, list_url: str, auth: dict, emulator) -> tuple[threading.Thread, dict]:
    """A connection test running in the background, once its login has reached the emulated account."""
    created = httpx.post(f"{base_url}{list_url}", headers=auth, json=CREATE).json()
    outcome = {"id": created["id"]}
    testing = threading.Thread(
        target=lambda: outcome.update(
            response=httpx.post(f"{base_url}{list_url}{created['id']}/test/", headers=auth, timeout=60)
        )
    )
    testing.start()
    deadline = time.monotonic() + 10
    while "/session/v1/login-request" not in emulator.paths() and time.monotonic() < deadline:
        time.sleep(0.02)
    return testing, outcome


def refuses_connections(base_url: str, deadline_seconds: float) -> bool:
    """Whether the server's port refuses a new connection within the deadline."""
    port = int(base_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.02)
    return False


def test_shutdown__sigterm_during_a_request__finishes_it_then_exits_0(
    start_server, list_url, api_key, snowflake_emulator
):
    base_url = start_server(WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url)
    snowflake_emulator.login_delay = 1.5
    testing, outcome = start_connection_test(
        base_url, list_url, {"Authorization": f"Api-Key {api_key}"}, snowflake_emulator
    )

    start_server.processes[base_url].send_signal(signal.SIGTERM)
    exit_code = start_server.processes[base_url].wait(timeout=20)
    testing.join(timeout=20)

    assert outcome["response"].status_code == 200
    assert exit_code == 0


def test_shutdown__request_still_running_at_the_timeout__is_answered_503_and_the_process_exits_0_in_time(
    start_server, list_url, api_key, snowflake_emulator
):
    base_url = start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url, WC_SHUTDOWN_TIMEOUT="2", WC_SNOWFLAKE_LOGIN_TIMEOUT="30"
    )
    snowflake_emulator.failure = "hang"
    testing, outcome = start_connection_test(
        base_url, list_url, {"Authorization": f"Api-Key {api_key}"}, snowflake_emulator
    )

    sent_at = time.monotonic()
    start_server.processes[base_url].send_signal(signal.SIGTERM)
    refused_while_running = refuses_connections(base_url, deadline_seconds=1) and "response" not in outcome
    exit_code = start_server.processes[base_url].wait(timeout=10)
    elapsed = time.monotonic() - sent_at
    testing.join(timeout=10)

    response = outcome["response"]
    assert_problem(
        response,
        503,
        "Service Unavailable",
        "The service is stopping and this request did not finish in time; it changed nothing. Try again.",
        request_id=response.headers["x-request-id"],
    )
    assert response.headers["retry-after"] == "5"
    assert (exit_code, refused_while_running) == (0, True)
    assert elapsed <= 2 + 1
    with database.connection_context():
        stored = WarehouseConnection.get_by_id(outcome["id"])
    assert (stored.status, stored.last_tested_at, stored.last_error) == ("pending_customer_setup", None, None)


def run_cli(server_env: dict, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warehouse_connections", *args],
        env={**server_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secrets_rotate__then_old_key_removed__connections_still_authenticate(
    server_env, start_server, list_url, api_key, snowflake_emulator
):
    old_key, new_key = server_env["WC_SECRET_KEYS"], Fernet.generate_key().decode()
    auth = {"Authorization": f"Api-Key {api_key}"}
    before = start_server(WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url)
    created = httpx.post(f"{before}{list_url}", headers=auth, json=CREATE).json()
    config = created["config"]
    snowflake_emulator.register_user(config["account_identifier"], config["user"], created["public_key"])
    snowflake_emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")

    rotated = run_cli(server_env, "secrets", "rotate", WC_SECRET_KEYS=f"{new_key},{old_key}")
    refused = run_cli(server_env, "organisations", "list", WC_SECRET_KEYS=old_key)
    after = start_server(WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url, WC_SECRET_KEYS=new_key)
    result = httpx.post(f"{after}{list_url}{created['id']}/test/", headers=auth, timeout=30).json()

    assert rotated.stdout == "re-encrypted 1 secrets with the first key; keys after it can now be removed\n"
    assert result["success"] is True
    assert refused.returncode == 2
    assert "cannot decrypt the stored secrets" in refused.stderr


def test_secrets__wrong_key__is_a_clear_startup_error(server_env, start_server, list_url, api_key):
    base_url = start_server()
    httpx.post(f"{base_url}{list_url}", headers={"Authorization": f"Api-Key {api_key}"}, json=CREATE)

    result = run_cli(server_env, "serve", "--port", str(free_port()), WC_SECRET_KEYS=Fernet.generate_key().decode())

    assert result.returncode == 2
    assert result.stderr.startswith("error: the encryption keys (WC_SECRET_KEYS or the key file) cannot decrypt")
