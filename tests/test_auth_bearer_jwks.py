"""The issuer's JWKS from a loopback provider of the tests' own (WC_JWT_JWKS_URL): fetched once and cached for its
max-age, refreshed when a token names an unknown kid (at most every 30 s), kept while the provider is down.

Time is the test's clock (tests/tokens/fixtures.py), never a sleep; a background fetch is waited for with a deadline.
"""

import json
import time
import uuid

import pytest

from tests.problems import assert_problem
from tests.tokens.fixtures import bearer
from tests.tokens.issuer import signing_key
from warehouse_connections.tokens.key_set import JwksError, max_age, parse_jwks


def wait_until(condition, deadline_seconds: float = 5) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.01)


def assert_keys_unavailable(response) -> None:
    assert response.headers["retry-after"] == "5"
    assert_problem(
        response,
        503,
        "Service Unavailable",
        "The token issuer's keys could not be fetched yet; try again shortly.",
        request_id=response.headers["x-request-id"],
    )


def random_kid_token(issuer, organisation_id: int) -> str:
    return issuer.token(issuer.claims(organisation_id), signing_key("RS256", "stranger"), kid=uuid.uuid4().hex)


def test_jwks__calls_within_the_default_max_age__fetch_the_set_once(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    headers = bearer(issuer.admin_token(organisation.id))

    first = anonymous_client.get(list_url, headers=headers)
    clock.advance(599)
    second = anonymous_client.get(list_url, headers=headers)

    assert (first.status_code, second.status_code, jwks_server.requests) == (200, 200, 1)


def test_jwks__past_its_max_age__the_cached_set_answers_while_a_fetch_refreshes_it(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    jwks_server.cache_control = "public, max-age=120"
    headers = bearer(issuer.admin_token(organisation.id))
    anonymous_client.get(list_url, headers=headers)
    clock.advance(119)
    within = anonymous_client.get(list_url, headers=headers)
    fetched_within = jwks_server.requests

    clock.advance(2)
    past = anonymous_client.get(list_url, headers=headers)

    assert (within.status_code, fetched_within, past.status_code) == (200, 1, 200)
    wait_until(lambda: provider_keys.keys.expires_at == clock.now + 120)
    assert jwks_server.requests == 2


def test_jwks__provider_rotates_its_key__the_new_key_is_fetched_on_its_first_token(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    old_token = issuer.admin_token(organisation.id)
    before = anonymous_client.get(list_url, headers=bearer(old_token))
    new_key = issuer.rotate()
    jwks_server.document = issuer.jwks()
    clock.advance(31)

    after = anonymous_client.get(list_url, headers=bearer(issuer.admin_token(organisation.id, new_key)))
    retired = anonymous_client.get(list_url, headers=bearer(old_token))

    assert (before.status_code, after.status_code, jwks_server.requests) == (200, 200, 2)
    assert retired.status_code == 401
    assert retired.json()["detail"] == "The token's key is not in the issuer's key set."


def test_jwks__unknown_kids__refresh_the_set_at_most_once_every_30_seconds(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    anonymous_client.get(list_url, headers=bearer(issuer.admin_token(organisation.id)))
    clock.advance(30)

    burst = [
        anonymous_client.get(list_url, headers=bearer(random_kid_token(issuer, organisation.id))) for _ in range(5)
    ]
    after_burst = jwks_server.requests
    clock.advance(29)
    anonymous_client.get(list_url, headers=bearer(random_kid_token(issuer, organisation.id)))
    within_30_seconds = jwks_server.requests
    clock.advance(1)
    anonymous_client.get(list_url, headers=bearer(random_kid_token(issuer, organisation.id)))

    assert [response.status_code for response in burst] == [401] * 5
    assert (after_burst, within_30_seconds, jwks_server.requests) == (2, 2, 3)


def test_jwks__provider_down_with_a_cached_set__tokens_keep_working(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock, caplog
):
    headers = bearer(issuer.admin_token(organisation.id))
    anonymous_client.get(list_url, headers=headers)
    jwks_server.failing = True
    clock.advance(601)

    during_refresh = anonymous_client.get(list_url, headers=headers)
    wait_until(lambda: provider_keys.fetch_failures == 1)
    after_refresh_failed = anonymous_client.get(list_url, headers=headers)
    unknown_kid = anonymous_client.get(list_url, headers=bearer(random_kid_token(issuer, organisation.id)))

    assert (during_refresh.status_code, after_refresh_failed.status_code, unknown_kid.status_code) == (200, 200, 401)
    assert jwks_server.requests == 2
    assert any(
        record.getMessage().startswith("JWKS fetch failed, keeping the cached set: cannot fetch")
        for record in caplog.records
    )


def test_jwks__provider_down_and_no_set_yet__returns_503_with_retry_after_until_it_answers(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    headers = bearer(issuer.admin_token(organisation.id))
    jwks_server.failing = True

    first = anonymous_client.get(list_url, headers=headers)
    within_retry_after = anonymous_client.get(list_url, headers=headers)
    fetched = jwks_server.requests
    jwks_server.failing = False
    clock.advance(5)
    recovered = anonymous_client.get(list_url, headers=headers)

    assert_keys_unavailable(first)
    assert_keys_unavailable(within_retry_after)
    assert (fetched, recovered.status_code, jwks_server.requests) == (1, 200, 2)


def test_jwks__provider_unreachable_and_no_set_yet__returns_503(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server
):
    jwks_server.stop()

    response = anonymous_client.post(
        list_url,
        json={"type": "snowflake", "account_identifier": "xy12345"},
        headers=bearer(issuer.admin_token(organisation.id)),
    )

    assert_keys_unavailable(response)


def test_jwks__api_keys__never_fetch_the_set(anonymous_client, list_url, api_key, provider_keys, jwks_server):
    response = anonymous_client.get(list_url, headers={"Authorization": f"Api-Key {api_key}"})

    assert (response.status_code, jwks_server.requests) == (200, 0)


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        (None, 600),
        ("public, max-age=300", 300),
        ("max-age=0", 30),
        ("max-age=999999999", 86400),
        ("no-cache", 600),
        ("s-maxage=5, max-age=60", 60),
        ('max-age="90"', 90),
    ],
)
def test_jwks_max_age__cache_control__bounded_seconds(cache_control, seconds):
    assert max_age(cache_control) == seconds


def test_jwks_parse__hmac_encryption_and_disallowed_keys__are_left_out(issuer):
    rsa_jwk = issuer.rsa.public_jwk()
    document = {
        "keys": [
            {"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"},
            {**rsa_jwk, "kid": "for-encryption", "use": "enc"},
            {**rsa_jwk, "kid": "rs512", "alg": "RS512"},
            {"kty": "RSA", "kid": "broken", "n": 5},
            "not a key",
            rsa_jwk,
        ]
    }

    keys = parse_jwks(json.dumps(document).encode(), ("RS256", "ES256"))

    assert list(keys) == [issuer.rsa.kid]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html>", "the JWKS is not JSON"),
        (b'{"keys": {}}', "the JWKS has no 'keys' list"),
        (b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "the JWKS has no signing key for RS256, ES256"),
    ],
)
def test_jwks_parse__no_usable_key__is_an_error_naming_why(document, message):
    with pytest.raises(JwksError) as error:
        parse_jwks(document, ("RS256", "ES256"))

    assert str(error.value) == message


def test_jwks__key_withdrawn_by_the_provider__its_accepted_tokens_are_refused_after_the_refresh(
    anonymous_client, list_url, organisation, issuer, provider_keys, jwks_server, clock
):
    token = issuer.admin_token(organisation.id)
    before = anonymous_client.get(list_url, headers=bearer(token))
    issuer.rotate()
    jwks_server.document = issuer.jwks()
    clock.advance(601)
    old_keys = provider_keys.keys

    during_refresh = anonymous_client.get(list_url, headers=bearer(token))
    wait_until(lambda: provider_keys.keys is not old_keys)
    after_refresh = anonymous_client.get(list_url, headers=bearer(token))

    assert (before.status_code, during_refresh.status_code) == (200, 200)
    assert after_refresh.status_code == 401
    assert after_refresh.json()["detail"] == "The token's key is not in the issuer's key set."
