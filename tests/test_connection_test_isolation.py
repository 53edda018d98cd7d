"""Connection tests hung on an account never starve a real `serve`: beyond the limit they are refused at once,
and every other organisation's reads and writes go on."""

import threading
import time

import httpx

from tests.examples import issue_key

CREATE = {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}
# The default WC_MAX_CONCURRENT_TESTS; more attempts than a2wsgi's 10 request threads.
LIMIT, ATTEMPTS = 4, 12


def connections_url(base_url: str, organisation_id: int) -> str:
    return f"{base_url}/api/v1/organisations/{organisation_id}/integrations/warehouse-connections/"


def test_tests__an_account_hangs_every_slot__more_are_refused_at_once_and_others_write_and_read(
    start_server, snowflake_emulator, organisation, other_organisation, api_key
):
    base_url = start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url, WC_SNOWFLAKE_LOGIN_TIMEOUT="30", WC_SHUTDOWN_TIMEOUT="1"
    )
    snowflake_emulator.failure = "hang"
    auth = {"Authorization": f"Api-Key {api_key}"}
    hung_url = connections_url(base_url, organisation.id)
    created = httpx.post(hung_url, headers=auth, json=CREATE).json()
    test_url = f"{hung_url}{created['id']}/test/"
    answers: list[httpx.Response] = []

    def test_it() -> None:
        answers.append(httpx.post(test_url, headers=auth, timeout=60))

    for _ in range(LIMIT):
        threading.Thread(target=test_it, daemon=True).start()
    deadline = time.monotonic() + 10
    while snowflake_emulator.paths().count("/session/v1/login-request") < LIMIT and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    refused = [httpx.post(test_url, headers=auth, timeout=10) for _ in range(ATTEMPTS - LIMIT)]
    refused_within = time.monotonic() - started
    other_auth = {"Authorization": f"Api-Key {issue_key(other_organisation)}"}
    other_url = connections_url(base_url, other_organisation.id)
    started = time.monotonic()
    other = httpx.post(other_url, headers=other_auth, json=CREATE, timeout=10)
    other_id = other.json()["id"]
    calls = [
        other,
        httpx.patch(f"{other_url}{other_id}/", headers=other_auth, json={"warehouse": "LOAD_WH"}, timeout=10),
        httpx.get(other_url, headers=other_auth, timeout=10),
        httpx.get(hung_url, headers=auth, timeout=10),
        httpx.delete(f"{other_url}{other_id}/", headers=other_auth, timeout=10),
    ]
    others_within = time.monotonic() - started

    assert {response.status_code for response in refused} == {503}
    assert {response.headers["retry-after"] for response in refused} == {"5"}
    assert refused_within < 2.0
    assert [response.status_code for response in calls] == [201, 200, 200, 200, 204]
    assert others_within < 5.0
    assert answers == []  # the hung ones are still waiting on the account
    assert snowflake_emulator.paths().count("/session/v1/login-request") == LIMIT
