import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization

from models import Secret, WarehouseConnection, database
from models.secret import PRIVATE_KEY
from tests.examples import SEED_CONFIG
from tests.problems import problem

SEED_BODY = {"type": "snowflake", **SEED_CONFIG}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def test_create__seed_body__returns_201_with_the_full_resource(client, list_url):
    response = client.post(list_url, json=SEED_BODY)

    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"{list_url}{body['id']}/"
    assert re.fullmatch(r"wc_[a-z0-9]{20}", body["id"])
    assert TIMESTAMP.fullmatch(body["created_at"])
    assert body == {
        "id": body["id"],
        "type": "snowflake",
        "status": "pending_customer_setup",
        "config": SEED_CONFIG,
        "public_key": body["public_key"],
        "setup_script": body["setup_script"],
        "created_at": body["created_at"],
        "last_tested_at": None,
        "last_error": None,
    }


def test_create__then_list_and_get__show_the_same_object(client, list_url):
    created = client.post(list_url, json=SEED_BODY).json()

    assert client.get(list_url).json() == [created]
    assert client.get(f"{list_url}{created['id']}/").json() == created


def test_create__only_type_and_account__applies_the_defaults(client, list_url):
    response = client.post(list_url, json={"type": "snowflake", "account_identifier": "myorg-myaccount"})

    assert response.status_code == 201
    assert response.json()["config"] == {**SEED_CONFIG, "account_identifier": "myorg-myaccount"}


def test_create__key_pair__is_rsa_of_the_configured_size_and_matches_public_key(client, list_url, settings):
    created = client.post(list_url, json=SEED_BODY).json()

    with database.connection_context():
        private_key = serialization.load_der_private_key(Secret.reveal(created["id"], PRIVATE_KEY), password=None)
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert private_key.key_size == settings.rsa_key_bits
    assert created["public_key"] == base64.b64encode(public_der).decode()
    assert "\n" not in created["public_key"] and "BEGIN" not in created["public_key"]


def test_create__two_connections__get_different_ids_and_keys(client, list_url, other_organisation, app):
    from tests.examples import issue_key

    other_client = app.test_client(headers={"Authorization": f"Api-Key {issue_key(other_organisation)}"})
    other_url = list_url.replace(f"/{list_url.split('/')[4]}/", f"/{other_organisation.id}/")

    first = client.post(list_url, json=SEED_BODY).json()
    second = other_client.post(other_url, json=SEED_BODY).json()

    assert first["id"] != second["id"]
    assert first["public_key"] != second["public_key"]


def test_create__organisation_has_a_connection__returns_409_and_keeps_the_first(client, list_url):
    first = client.post(list_url, json=SEED_BODY).json()

    response = client.post(list_url, json={"type": "snowflake", "account_identifier": "other-account"})

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": f"Organisation {list_url.split('/')[4]} already has a warehouse connection.",
    }
    assert client.get(list_url).json() == [first]


def test_create__read_only_key__returns_403_and_creates_nothing(app, read_only_api_key, list_url):
    client = app.test_client(headers={"Authorization": f"Api-Key {read_only_api_key}"})

    response = client.post(list_url, json=SEED_BODY)

    assert response.status_code == 403
    assert response.json()["detail"] == "This API key is read-only."
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"account_identifier": "xy12345"}, "'type' is a required property"),
        ({"type": "snowflake"}, "'account_identifier' is a required property"),
        ({"type": "bigquery", "account_identifier": "xy12345"}, "'type' is not one of ['snowflake', 'postgresql']"),
        ({**SEED_BODY, "password": "x"}, "Additional properties are not allowed ('password' was unexpected)"),
        ({**SEED_BODY, "warehouse": 7}, "'warehouse' is not of type 'string'"),
        ([SEED_BODY], "'body' is not of type 'object'"),
    ],
)
def test_create__invalid_body__returns_400_naming_the_problem(client, list_url, body, detail):
    response = client.post(list_url, json=body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == problem(400, "Bad Request", detail)


IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_$]{0,254}$"
ACCOUNT = r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$"


@pytest.mark.parametrize("field", ["warehouse", "database", "schema", "role", "user"])
@pytest.mark.parametrize(
    "value",
    ["x; DROP DATABASE PROD", 'A"B', "A'B", "A B", "-- comment", "1STARTS_WITH_DIGIT", "", "ÄPFEL", "A\x00B"],
)
def test_create__object_name_not_an_unquoted_identifier__returns_400_naming_the_field(client, list_url, field, value):
    response = client.post(list_url, json={**SEED_BODY, field: value})

    assert response.status_code == 400
    assert response.json() == problem(400, "Bad Request", f"'{field}' does not match {IDENTIFIER}")


@pytest.mark.parametrize("field", ["warehouse", "database", "schema", "role", "user"])
def test_create__object_name_with_trailing_newline__returns_400_naming_the_field(client, list_url, field):
    # jsonschema's pattern check lets "NAME\n" through (Python's `$`); the type's own check does not.
    response = client.post(list_url, json={**SEED_BODY, field: "NAME\n"})

    assert response.status_code == 400
    assert response.json() == problem(400, "Bad Request", f"'{field}' must be a valid unquoted Snowflake identifier")
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0


@pytest.mark.parametrize("field", ["warehouse", "database", "schema", "role", "user"])
def test_create__object_name_longer_than_255__returns_400_naming_the_field(client, list_url, field):
    response = client.post(list_url, json={**SEED_BODY, field: "A" * 256})

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"'{field}' ")


@pytest.mark.parametrize(
    "value", ["https://xy12345.snowflakecomputing.com", "xy12345;DROP", "1abc", "xy 12345", ".xy12345", "xy12345..us"]
)
def test_create__account_identifier_not_an_account__returns_400(client, list_url, value):
    response = client.post(list_url, json={**SEED_BODY, "account_identifier": value})

    assert response.status_code == 400
    assert response.json() == problem(400, "Bad Request", f"'account_identifier' does not match {ACCOUNT}")


def test_create__account_identifier_is_a_host_name__returns_400(client, list_url):
    response = client.post(
        list_url, json={**SEED_BODY, "account_identifier": "xy12345.us-east-1.snowflakecomputing.com"}
    )

    assert response.status_code == 400
    assert response.json() == problem(
        400, "Bad Request", "'account_identifier' must be the account identifier, not a host name"
    )


@pytest.mark.parametrize(
    "account",
    ["xy12345", "xy12345.us-east-1", "xy12345.us-east-2.aws", "myorg-my_account", "xy12345.eu-west-1.privatelink"],
)
def test_create__documented_account_forms__are_accepted(client, list_url, account):
    response = client.post(list_url, json={**SEED_BODY, "account_identifier": account})

    assert response.status_code == 201


def test_create__defaults_in_the_spec__equal_the_types_defaults():
    import yaml

    from openapi import SPEC_PATH
    from warehouses import snowflake

    spec = yaml.safe_load(SPEC_PATH.read_text())
    properties = spec["components"]["schemas"]["SnowflakeConnectionCreate"]["properties"]

    assert {field: properties[field].get("default") for field in snowflake.DEFAULTS} == snowflake.DEFAULTS


def test_create__chunked_body_without_length__is_read_whole(client, list_url):
    body = b'{"type": "snowflake", "account_identifier": "xy12345"}'

    def chunks():
        yield body[:20]
        yield body[20:]

    response = client.post(list_url, content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 201
    assert response.json()["config"]["account_identifier"] == "xy12345"
