"""`Authorization: Bearer <JWT>` (the spec's BearerAuth): tokens minted here by PyJWT, keys from a JWKS file.

The loopback provider's tests (fetching, caching, rotation) are in tests/test_auth_bearer_jwks.py.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from models import WarehouseConnection, database
from tests.problems import assert_problem
from tests.tokens.fixtures import bearer
from tests.tokens.issuer import DROP, signing_key

CREATE_BODY = {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}
BOTH_SCHEMES = 'Api-Key realm="warehouse-connections", Bearer realm="warehouse-connections"'


def assert_invalid_token(response, reason: str) -> None:
    assert response.headers["www-authenticate"] == f'Bearer error="invalid_token", error_description="{reason}"'
    assert_problem(response, 401, "Unauthorized", reason)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_the_rsa_public_key(issuer, claims: dict) -> str:
    """The algorithm-confusion attack, by hand: PyJWT itself refuses to sign HMAC with a PEM public key."""
    secret = issuer.rsa.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{b64url(json.dumps({'alg': 'HS256', 'kid': issuer.rsa.kid}).encode())}.{b64url(json.dumps(claims).encode())}"
    )
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def tampered(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def attacks(issuer, organisation_id: int) -> dict[str, tuple[str, str]]:
    """Each refused token, by name, with the reason the 401 gives."""
    now = int(time.time())
    claims = issuer.claims(organisation_id)
    stranger = signing_key("RS256", "stranger")
    return {
        "alg none": (jwt.encode(claims, None, algorithm="none"), "The token's algorithm is not accepted."),
        "HS256 signed with the RSA public key": (
            hs256_with_the_rsa_public_key(issuer, claims),
            "The token's algorithm is not accepted.",
        ),
        "expired": (issuer.token(issuer.claims(organisation_id, exp=now - 120)), "The token has expired."),
        "nbf in the future": (
            issuer.token(issuer.claims(organisation_id, nbf=now + 300)),
            "The token is not valid yet.",
        ),
        "iat in the future": (
            issuer.token(issuer.claims(organisation_id, iat=now + 300)),
            "The token is not valid yet.",
        ),
        "wrong iss": (
            issuer.token(issuer.claims(organisation_id, iss="https://evil.example.test/")),
            "The token's issuer is not accepted.",
        ),
        "wrong aud": (
            issuer.token(issuer.claims(organisation_id, aud="another-service")),
            "The token's audience is not accepted.",
        ),
        "no exp": (issuer.token(issuer.claims(organisation_id, exp=DROP)), "The token has no 'exp' claim."),
        "no sub": (issuer.token(issuer.claims(organisation_id, sub=DROP)), "The token has no 'sub' claim."),
        "no organisations claim": (
            issuer.token(issuer.claims(organisation_id, organisations=DROP)),
            "The token has no 'organisations' object.",
        ),
        "unknown kid": (
            issuer.token(claims, stranger, kid="not-a-kid-of-the-issuer"),
            "The token's key is not in the issuer's key set.",
        ),
        "a key not in the JWKS, with a kid that is": (
            issuer.token(claims, stranger, kid=issuer.rsa.kid),
            "The token's signature does not verify.",
        ),
        "an ES256 token naming the RSA key": (
            issuer.token(claims, issuer.ec, kid=issuer.rsa.kid),
            "The token's algorithm does not match its key.",
        ),
        "tampered payload": (
            tampered(issuer.token(issuer.claims(organisation_id, role="user")), claims),
            "The token's signature does not verify.",
        ),
        "junk": ("not-a-jwt", "The token is not a well-formed JWT."),
        "three junk parts": ("eyJhbGciOi.eyJzdWIi.c2ln", "The token is not a well-formed JWT."),
        "oversized": (
            issuer.token(issuer.claims(organisation_id, padding="x" * 8200)),
            "The token is longer than 8192 bytes.",
        ),
    }


ATTACK_NAMES = [
    "alg none",
    "HS256 signed with the RSA public key",
    "expired",
    "nbf in the future",
    "iat in the future",
    "wrong iss",
    "wrong aud",
    "no exp",
    "no sub",
    "no organisations claim",
    "unknown kid",
    "a key not in the JWKS, with a kid that is",
    "an ES256 token naming the RSA key",
    "tampered payload",
    "junk",
    "three junk parts",
    "oversized",
]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_bearer__admin_token__creates_201(anonymous_client, list_url, organisation, bearer_tokens, algorithm):
    key = bearer_tokens.rsa if algorithm == "RS256" else bearer_tokens.ec
    token = bearer_tokens.admin_token(organisation.id, key)

    response = anonymous_client.post(list_url, json=CREATE_BODY, headers=bearer(token))

    assert response.status_code == 201
    assert response.json()["config"]["account_identifier"] == "xy12345.us-east-1"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_bearer__user_token__lists_and_gets_200(
    anonymous_client, list_url, organisation, connection, bearer_tokens, algorithm
):
    key = bearer_tokens.rsa if algorithm == "RS256" else bearer_tokens.ec
    headers = bearer(bearer_tokens.token(bearer_tokens.claims(organisation.id, role="user"), key))

    listed = anonymous_client.get(list_url, headers=headers)
    got = anonymous_client.get(f"{list_url}{connection.id}/", headers=headers)

    assert (listed.status_code, got.status_code) == (200, 200)
    assert [item["id"] for item in listed.json()] == [connection.id] == [got.json()["id"]]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", CREATE_BODY),
        ("PUT", "{id}/", CREATE_BODY),
        ("PATCH", "{id}/", {"warehouse": "LOAD_WH"}),
        ("DELETE", "{id}/", None),
        ("POST", "{id}/test/", None),
    ],
)
def test_bearer__user_token_on_a_write__returns_403_and_changes_nothing(
    anonymous_client, list_url, organisation, connection, bearer_tokens, method, path, body
):
    token = bearer_tokens.token(bearer_tokens.claims(organisation.id, role="user"))

    response = anonymous_client.request(
        method, list_url + path.format(id=connection.id), json=body, headers=bearer(token)
    )

    assert_problem(
        response,
        403,
        "Forbidden",
        f"This token's role in organisation {organisation.id} is 'user', which may only read.",
    )
    with database.connection_context():
        stored = WarehouseConnection.get_by_id(connection.id)
    assert (stored.config, stored.status) == (connection.config, "error")


def test_bearer__admin_token__deletes_204(anonymous_client, list_url, organisation, connection, bearer_tokens):
    response = anonymous_client.delete(
        f"{list_url}{connection.id}/", headers=bearer(bearer_tokens.admin_token(organisation.id))
    )

    assert response.status_code == 204


def test_bearer__token_for_another_organisation__returns_403(
    anonymous_client, list_url, organisation, other_organisation, bearer_tokens
):
    token = bearer_tokens.admin_token(other_organisation.id)

    response = anonymous_client.get(list_url, headers=bearer(token))

    assert_problem(response, 403, "Forbidden", f"This token gives no role in organisation {organisation.id}.")


@pytest.mark.parametrize("role", ["owner", ["admin"], None, 1])
def test_bearer__role_that_is_neither_admin_nor_user__returns_403(
    anonymous_client, list_url, organisation, bearer_tokens, role
):
    token = bearer_tokens.token(bearer_tokens.claims(organisation.id, role=role))

    response = anonymous_client.get(list_url, headers=bearer(token))

    assert_problem(response, 403, "Forbidden", f"This token gives no role in organisation {organisation.id}.")


def test_bearer__organisation_this_service_does_not_have__returns_403_and_stores_nothing(
    anonymous_client, bearer_tokens
):
    url = "/api/v1/organisations/987654/integrations/warehouse-connections/"

    response = anonymous_client.post(url, json=CREATE_BODY, headers=bearer(bearer_tokens.admin_token(987654)))

    assert_problem(response, 403, "Forbidden", "Organisation 987654 is not known to this service.")
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0


@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_bearer__attack__returns_401_with_the_reason_stores_nothing_and_logs_only_the_reason(
    anonymous_client, list_url, organisation, bearer_tokens, caplog, attack
):
    token, reason = attacks(bearer_tokens, organisation.id)[attack]

    response = anonymous_client.post(list_url, json=CREATE_BODY, headers=bearer(token))

    assert_invalid_token(response, reason)
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0
    logged = [record.getMessage() for record in caplog.records]
    assert f"401: {reason}" in logged
    assert not [message for message in logged if token in message]


def test_bearer__no_jwks_configured__returns_401_and_api_keys_still_work(anonymous_client, list_url, api_key, issuer):
    token = issuer.admin_token(1)

    refused = anonymous_client.get(list_url, headers=bearer(token))
    with_key = anonymous_client.get(list_url, headers={"Authorization": f"Api-Key {api_key}"})

    assert_invalid_token(refused, "This service accepts no bearer tokens; use an API key.")
    assert with_key.status_code == 200


def test_bearer__no_credentials__returns_401_naming_both_schemes(anonymous_client, list_url, bearer_tokens):
    response = anonymous_client.get(list_url)

    assert response.headers["www-authenticate"] == BOTH_SCHEMES
    assert_problem(response, 401, "Unauthorized", "No authorization token provided")


def test_bearer__unknown_api_key__returns_401_naming_both_schemes(anonymous_client, list_url, bearer_tokens):
    response = anonymous_client.get(list_url, headers={"Authorization": "Api-Key wck_" + "A" * 43})

    assert response.headers["www-authenticate"] == BOTH_SCHEMES
    assert_problem(response, 401, "Unauthorized", "The API key is unknown or revoked.")


def test_bearer__other_scheme__returns_401_naming_both_schemes(anonymous_client, list_url, bearer_tokens):
    response = anonymous_client.get(list_url, headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.headers["www-authenticate"] == BOTH_SCHEMES
    assert_problem(
        response, 401, "Unauthorized", "The Authorization header must be 'Api-Key <key>' or 'Bearer <token>'."
    )


def test_bearer__request_line__names_the_subject_never_the_token(
    anonymous_client, list_url, organisation, bearer_tokens, caplog
):
    token = bearer_tokens.admin_token(organisation.id)

    anonymous_client.get(list_url, headers=bearer(token))

    (record,) = [record for record in caplog.records if record.name == "warehouse_connections.requests"]
    assert (record.status, record.organisation_id, record.sub, record.auth_scheme, record.api_key_prefix) == (
        200,
        organisation.id,
        "user-42",
        "bearer",
        None,
    )
    assert token not in "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)


def test_bearer__api_key_request_line__names_the_key_prefix_as_today(anonymous_client, list_url, api_key, caplog):
    anonymous_client.get(list_url, headers={"Authorization": f"Api-Key {api_key}"})

    (record,) = [record for record in caplog.records if record.name == "warehouse_connections.requests"]
    assert (record.sub, record.auth_scheme, record.api_key_prefix) == (api_key[:12], "api-key", api_key[:12])


def test_bearer__token_for_several_organisations__opens_each_by_its_role(
    anonymous_client, organisation, other_organisation, bearer_tokens
):
    claims = bearer_tokens.claims(organisation.id)
    claims["organisations"] = {str(organisation.id): "admin", str(other_organisation.id): "user"}
    headers = bearer(bearer_tokens.token(claims))
    url = "/api/v1/organisations/{}/integrations/warehouse-connections/"

    answers = [
        anonymous_client.post(url.format(organisation.id), json=CREATE_BODY, headers=headers).status_code,
        anonymous_client.get(url.format(other_organisation.id), headers=headers).status_code,
        anonymous_client.post(url.format(other_organisation.id), json=CREATE_BODY, headers=headers).status_code,
    ]

    assert answers == [201, 200, 403]


def test_bearer__same_token_again__is_verified_once_until_it_expires(
    anonymous_client, list_url, organisation, bearer_tokens, app_state, monkeypatch
):
    decoded = []
    decode = jwt.decode
    monkeypatch.setattr(
        "warehouse_connections.tokens.verifier.jwt.decode", lambda *a, **k: decoded.append(1) or decode(*a, **k)
    )
    token = bearer_tokens.token(bearer_tokens.claims(organisation.id, exp=int(time.time()) + 60))

    first, again = (anonymous_client.get(list_url, headers=bearer(token)).status_code for _ in range(2))
    verified_while_valid = len(decoded)
    app_state.tokens.now = lambda: time.time() + 60 + 30  # past exp and the leeway: remembered no more
    past_expiry = anonymous_client.get(list_url, headers=bearer(token)).status_code

    assert (first, again, verified_while_valid) == (200, 200, 1)
    assert (past_expiry, len(decoded)) == (200, 2)  # checked afresh (by the real clock, still valid)
