"""Request ids, one log line per request with what an operator needs (and no secret), and metrics."""

import base64
import datetime
import logging
import random

import httpx
import pytest

from tests import leak_guard
from warehouse_connections.infrastructure import logs
from warehouse_connections.infrastructure.logs import JsonFormatter


def request_log_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "warehouse_connections.requests"]


def test_request_id__sent_by_the_caller__is_echoed(client, list_url):
    response = client.get(list_url, headers={"X-Request-ID": "dashboard-7f3a.1"})

    assert response.headers["x-request-id"] == "dashboard-7f3a.1"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "semi;colon", "slash/ed"])
def test_request_id__absent_or_unsafe__is_replaced_by_a_new_one(client, list_url, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}

    response = client.get(list_url, headers=headers)

    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-request-id"] != sent


def test_request_log__one_line_per_request__with_route_operation_caller_and_timing(client, list_url, api_key, caplog):
    response = client.get(list_url, headers={"X-Request-ID": "req-1"})

    (record,) = request_log_records(caplog)
    assert record.request_id == "req-1"
    assert (record.method, record.route, record.operation_id, record.status) == (
        "GET",
        "/api/v1/organisations/{organisation_pk}/integrations/warehouse-connections/",
        "list_connections",
        200,
    )
    assert record.organisation_id == int(list_url.split("/")[4])
    assert record.api_key_prefix == api_key[:12]
    assert record.duration_ms >= 0
    assert response.status_code == 200


def test_request_log__unauthenticated_request__logs_no_caller(anonymous_client, list_url, caplog):
    anonymous_client.get(list_url, headers={"Authorization": "Api-Key wck_" + "x" * 40})

    (record,) = request_log_records(caplog)
    assert (record.status, record.organisation_id, record.api_key_prefix) == (401, None, None)
    assert "wck_" + "x" * 40 not in caplog.text


def test_json_formatter__request_record__is_one_json_object_with_the_fields():
    import json

    record = logging.makeLogRecord(
        {"name": "warehouse_connections.requests", "levelname": "INFO", "msg": "GET / 200", "status": 200}
    )

    line = JsonFormatter().format(record)

    parsed = json.loads(line)
    assert "\n" not in line
    assert (parsed["level"], parsed["message"], parsed["status"], parsed["request_id"]) == (
        "info",
        "GET / 200",
        200,
        None,
    )
    assert parsed["timestamp"].endswith("+00:00")


def test_logs__whole_lifecycle__contain_no_secret(client, list_url, api_key, emulated_account, settings, caplog):
    created = client.get(list_url).json()[0]
    client.post(f"{list_url}{created['id']}/test/")
    client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"})
    client.delete(f"{list_url}{created['id']}/")
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)

    from tests.leak_guard import secret_fragments

    secrets = [api_key, f"Api-Key {api_key}", *settings.secret_keys, *secret_fragments]
    assert len(caplog.records) > 20
    for secret in secrets:
        assert secret not in logged
    assert base64.urlsafe_b64decode(settings.secret_keys[0]).hex() not in logged


def test_metrics__after_requests__count_them_by_operation_and_status(client, list_url, anonymous_client):
    client.get(list_url)

    text = anonymous_client.get("/metrics").text

    assert 'wc_requests_total{operation="list_connections",status="200"}' in text
    assert 'wc_request_duration_seconds_bucket{le="0.001",operation="list_connections"}' in text
    assert "wc_database_errors_total" in text


def test_metrics__connection_tests__are_counted_by_outcome(
    client, list_url, created, emulated_account, anonymous_client
):
    def count(outcome: str) -> float:
        for line in anonymous_client.get("/metrics").text.splitlines():
            if line.startswith(f'wc_connection_tests_total{{outcome="{outcome}"}}'):
                return float(line.split()[-1])
        return 0.0

    successes, failures = count("success"), count("failure")
    client.post(f"{list_url}{created['id']}/test/")
    emulated_account.failure = "reject_jwt"
    client.post(f"{list_url}{created['id']}/test/")

    assert (count("success"), count("failure")) == (successes + 1, failures + 1)


def test_log_timestamp__is_the_records_time_in_utc_to_the_millisecond():
    rng = random.Random(7)
    # Random instants, one that rounds up to the next millisecond and one to the next second.
    moments = [rng.uniform(1.6e9, 1.9e9) for _ in range(20_000)] + [1770400392.1389997, 1.7e9 + 0.9999996]

    formatted = [logs._timestamp(moment) for moment in moments]

    assert formatted == [
        datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="milliseconds") for moment in moments
    ]


def test_logs__served_at_debug_level__carry_no_ciphertext_key_or_authorization(start_server, api_key, list_url):
    base_url = start_server(WC_LOG_LEVEL="DEBUG", WC_LOG_FORMAT="json")
    headers = {"Authorization": f"Api-Key {api_key}"}

    created = httpx.post(
        f"{base_url}{list_url}", json={"type": "snowflake", "account_identifier": "xy12345"}, headers=headers
    )
    listed = httpx.get(f"{base_url}{list_url}", headers=headers)

    assert (created.status_code, listed.status_code) == (201, 200)
    logged = start_server.logs[base_url].read_text()
    assert '"INSERT INTO \\"secret\\"' in logged  # the query is logged, at DEBUG: without its parameters
    assert (leak_guard.FERNET_TOKEN.findall(logged), leak_guard.API_KEY.findall(logged)) == ([], [])
    assert api_key not in logged
