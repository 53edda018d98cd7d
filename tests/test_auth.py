import pytest

from models import ApiKey, database
from tests.examples import issue_key
from tests.problems import problem


def test_auth__no_key__returns_401(anonymous_client, list_url):
    response = anonymous_client.get(list_url)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == problem(401, "Unauthorized", "No authorization token provided")


@pytest.mark.parametrize(
    "header",
    ["Api-Key wck_" + "A" * 43, "Api-Key garbage", "Api-Key ", "Bearer wck_" + "A" * 43, "wck_" + "A" * 43],
)
def test_auth__unknown_or_malformed_key__returns_401(anonymous_client, list_url, header):
    response = anonymous_client.get(list_url, headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"


def test_auth__revoked_key__returns_401(anonymous_client, list_url, api_key):
    with database.connection_context():
        assert ApiKey.revoke(api_key[:12])

    response = anonymous_client.get(list_url, headers={"Authorization": f"Api-Key {api_key}"})

    assert response.status_code == 401
    assert response.json() == problem(401, "Unauthorized", "The API key is unknown or revoked.")


def test_auth__scheme_in_other_case__is_accepted(anonymous_client, list_url, api_key):
    response = anonymous_client.get(list_url, headers={"Authorization": f"api-key {api_key}"})

    assert response.status_code == 200


def test_auth__other_organisations_key__returns_403(anonymous_client, list_url, other_organisation):
    other_key = issue_key(other_organisation)

    response = anonymous_client.get(list_url, headers={"Authorization": f"Api-Key {other_key}"})

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == problem(403, "Forbidden", "This API key belongs to another organisation.")


def test_auth__other_organisations_key_on_detail__returns_403(
    anonymous_client, list_url, connection, other_organisation
):
    other_key = issue_key(other_organisation)

    response = anonymous_client.get(f"{list_url}{connection.id}/", headers={"Authorization": f"Api-Key {other_key}"})

    assert response.status_code == 403


def test_auth__stored_key__is_only_a_hash(api_key):
    with database.connection_context():
        row = ApiKey.get(ApiKey.prefix == api_key[:12])

    assert api_key not in (row.key_hash, row.name, row.prefix)
    assert len(row.key_hash) == 64


def test_caller_cache__within_its_seconds__answers_without_the_database(monkeypatch):
    from models.api_key import ActiveKey
    from warehouse_connections.web.caller_cache import CallerCache

    now = [100.0]
    monkeypatch.setattr("warehouse_connections.web.caller_cache.time.monotonic", lambda: now[0])
    cache = CallerCache(seconds=5)
    cache.put("digest", ActiveKey(7, False, "wck_abcdefgh"))
    cache.put("unknown", None)

    within = (cache.get("digest"), cache.get("unknown"), cache.get("never-seen"))
    now[0] = 105.0
    after = cache.get("digest")

    assert within == (ActiveKey(7, False, "wck_abcdefgh"), None, False)
    assert after is False


def test_revoke__with_two_workers_caching_keys__stops_the_key_within_the_cache_seconds(
    start_server, server_env, list_url, api_key
):
    import subprocess
    import sys
    import time

    import httpx

    base_url = start_server("--workers", "2", WC_API_KEY_CACHE_SECONDS="1")
    auth = {"Authorization": f"Api-Key {api_key}"}
    warmed = [httpx.get(f"{base_url}{list_url}", headers=auth).status_code for _ in range(20)]

    subprocess.run(
        [sys.executable, "-m", "warehouse_connections", "api-keys", "revoke", api_key[:12]],
        env=server_env,
        check=True,
        capture_output=True,
    )
    time.sleep(1.2)  # the documented bound (WC_API_KEY_CACHE_SECONDS=1), and a little
    after = [httpx.get(f"{base_url}{list_url}", headers=auth).status_code for _ in range(20)]

    assert warmed == [200] * 20
    assert after == [401] * 20


def test_caller_cache__full__forgets_the_oldest_key_only():
    from models.api_key import ActiveKey
    from warehouse_connections.web.caller_cache import CallerCache

    cache = CallerCache(seconds=60)
    cache.MAX_ENTRIES = 2
    for digest in ("a", "b", "c"):
        cache.put(digest, ActiveKey(1, False, digest))

    assert [cache.get(digest) for digest in ("a", "b", "c")] == [
        False,
        ActiveKey(1, False, "b"),
        ActiveKey(1, False, "c"),
    ]
