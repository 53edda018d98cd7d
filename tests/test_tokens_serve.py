"""`serve` with the dev issuer's JWKS (WC_JWT_JWKS_FILE), called as a dashboard in a browser calls it: from its
origin (WC_CORS_ORIGINS), with a bearer token minted by `tokens mint`, on every operation."""

import httpx

from tests import leak_guard
from tests.problems import problem
from warehouse_connections.devtools.snowflake_emulator.command import public_keys_of_user

ORIGIN = "https://app.example.com"
CREATE = {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}


def test_serve_with_dev_issuer__browser_with_admin_token__calls_every_operation(
    mint, start_server, dev_issuer, organisation, list_url, snowflake_emulator
):
    snowflake_emulator.resolve_user = public_keys_of_user
    snowflake_emulator.every_stage_exists = True
    base_url = start_server(
        WC_CORS_ORIGINS=ORIGIN,
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        WC_LOG_LEVEL="DEBUG",
        WC_LOG_FORMAT="json",
        **dev_issuer,
    )
    headers = {"Origin": ORIGIN, "Authorization": f"Bearer {mint(organisation.id)}"}
    url = f"{base_url}{list_url}"
    preflight = httpx.options(
        url,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    created = httpx.post(url, json=CREATE, headers=headers)
    item = f"{url}{created.json()['id']}/"
    answers = [
        created,
        httpx.get(url, headers=headers),
        httpx.get(item, headers=headers),
        httpx.put(item, json=CREATE, headers=headers),
        httpx.patch(item, json={"warehouse": "LOAD_WH"}, headers=headers),
        httpx.post(f"{item}test/", headers=headers, timeout=30),
        httpx.delete(item, headers=headers),
    ]

    assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (200, ORIGIN)
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert [response.status_code for response in answers] == [201, 200, 200, 200, 200, 200, 204]
    assert answers[5].json()["success"] is True
    assert {response.headers["access-control-allow-origin"] for response in answers} == {ORIGIN}
    logged = start_server.logs[base_url].read_text()
    assert leak_guard.JWT.findall(logged) == []
    assert '"sub":"dev-user","auth_scheme":"bearer"' in logged


def test_serve_with_dev_issuer__refused_token__browser_can_read_why(
    mint, start_server, dev_issuer, organisation, other_organisation, list_url
):
    base_url = start_server(WC_CORS_ORIGINS=ORIGIN, **dev_issuer)
    user_token = mint(organisation.id, "user")
    other_token = mint(other_organisation.id)

    refused = httpx.get(f"{base_url}{list_url}", headers={"Origin": ORIGIN, "Authorization": "Bearer junk"})
    read = httpx.get(f"{base_url}{list_url}", headers={"Authorization": f"Bearer {user_token}"})
    other = httpx.get(f"{base_url}{list_url}", headers={"Authorization": f"Bearer {other_token}"})

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The token is not a well-formed JWT."'
    )
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
    assert (read.status_code, other.status_code) == (200, 403)
    assert other.json() == problem(403, "Forbidden", f"This token gives no role in organisation {organisation.id}.")


def test_serve__hmac_algorithm_configured__refuses_to_start_naming_it(run, dev_issuer):
    result = run("serve", "--port", "1", check=False, WC_JWT_ALGORITHMS="RS256,HS256", **dev_issuer)

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "error: WC_JWT_ALGORITHMS may name only RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA "
        "(never none or HS*), not 'HS256'"
    )


def test_serve_on_connexions_stock_path__bearer_token__is_accepted(
    mint, start_server, dev_issuer, organisation, list_url
):
    base_url = start_server(WC_FAST_PATH="off", **dev_issuer)

    response = httpx.get(f"{base_url}{list_url}", headers={"Authorization": f"Bearer {mint(organisation.id, 'user')}"})

    assert (response.status_code, response.json()) == (200, [])
