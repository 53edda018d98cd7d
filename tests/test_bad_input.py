"""Every class of bad input: a clear 4xx problem naming what is wrong, never a 500, nothing stored.

Run on SQLite and on PostgreSQL: PostgreSQL refuses NUL bytes and lone surrogates that SQLite keeps.
"""

import pytest

from models import Secret, WarehouseConnection, database
from tests.examples import API_OPERATIONS
from tests.problems import assert_problem

JSON = {"Content-Type": "application/json"}
NOT_JSON = "The request body is not valid JSON"
VALID = b'{"type": "snowflake", "account_identifier": "xy12345"}'


@pytest.fixture(autouse=True)
def nothing_is_stored_by_a_bad_request():
    """Each test here sends only bad requests: afterwards the organisation has no connection."""
    yield
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0
        assert Secret.select().count() == 0


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"type": "snow\xc3flake"}', b'{"type": "\xed\xa0\x80"}'])
def test_bad_input__body_not_utf8__returns_400(client, list_url, body):
    response = client.post(list_url, content=body, headers=JSON)

    assert_problem(response, 400, "Bad Request", "The request body is not valid utf-8.")


IDENTIFIER = "does not match ^[A-Za-z_][A-Za-z0-9_$]{0,254}$"


@pytest.mark.parametrize(
    ("field", "escaped", "reason"),
    [
        ("type", "snow\\u0000flake", "is not one of ['snowflake', 'postgresql']"),
        ("account_identifier", "xy\\u000012345", r"does not match ^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$"),
        ("warehouse", "WH\\u0000", IDENTIFIER),
        ("user", "\\ud800", IDENTIFIER),
        ("role", "A\\udfffB", IDENTIFIER),
    ],
)
def test_bad_input__nul_or_lone_surrogate_in_a_string__returns_400_naming_the_field(
    client, list_url, field, escaped, reason
):
    fields = {"type": '"snowflake"', "account_identifier": '"xy12345"', field: f'"{escaped}"'}
    body = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"

    response = client.post(list_url, content=body.encode(), headers=JSON)

    assert_problem(response, 400, "Bad Request", f"'{field}' {reason}")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{", f"{NOT_JSON}: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"{'type': 1}", f"{NOT_JSON}: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b'{"type": }', f"{NOT_JSON}: Expecting value: line 1 column 10 (char 9)"),
        (b"[]", "'body' is not of type 'object'"),
        (b'"snowflake"', "'body' is not of type 'object'"),
        (b"null", "Request body must not be empty"),
        (b"42", "'body' is not of type 'object'"),
    ],
)
def test_bad_input__malformed_or_non_object_json__returns_400(client, list_url, body, detail):
    response = client.post(list_url, content=body, headers=JSON)

    assert_problem(response, 400, "Bad Request", detail)


def test_bad_input__duplicate_json_keys__returns_400_naming_them(client, list_url):
    body = b'{"type": "snowflake", "account_identifier": "xy12345", "account_identifier": "other"}'

    response = client.post(list_url, content=body, headers=JSON)

    assert_problem(response, 400, "Bad Request", "The JSON object has duplicate keys: 'account_identifier'")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_bad_input__wrong_content_type__returns_415(client, list_url, content_type):
    response = client.post(list_url, content=VALID, headers={"Content-Type": content_type})

    assert_problem(
        response,
        415,
        "Unsupported Media Type",
        f"Invalid Content-type ({content_type}), expected ['application/json']",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ""),
        ("PUT", "wc_abc123def456ghi7/"),
        ("PATCH", "wc_abc123def456ghi7/"),
        ("POST", "wc_abc123def456ghi7/test/"),
    ],
)
def test_bad_input__body_over_64_kib__returns_413(client, list_url, method, path):
    body = b'{"type": "snowflake", "account_identifier": "' + b"a" * 70_000 + b'"}'

    response = client.request(method, f"{list_url}{path}", content=body, headers=JSON)

    assert_problem(response, 413, "Content Too Large", "The request body is larger than 65536 bytes.")


def test_bad_input__streamed_body_over_64_kib_without_length__returns_413(client, list_url):
    def chunks():
        yield b'{"type": "snowflake", "account_identifier": "'
        for _ in range(20):
            yield b"a" * 4096

    response = client.post(list_url, content=chunks(), headers=JSON)

    assert_problem(response, 413, "Content Too Large", "The request body is larger than 65536 bytes.")


@pytest.mark.parametrize(
    "organisation_pk", ["abc", "-1", "0", "1.5", "99999999999999999999", "9223372036854775808", "１"]
)
@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_bad_input__organisation_pk_not_an_integer_in_range__returns_400(client, organisation_pk, method, path):
    url = f"/api/v1/organisations/{organisation_pk}/integrations/warehouse-connections/{path}"

    response = client.request(method, url, json={})

    assert_problem(response, 400, "Bad Request", "'organisation_pk' must be an integer from 1 to 9223372036854775807.")


@pytest.mark.parametrize(
    "connection_id", ["a%2Fb", "%2E%2E", "a.b", "wc_abc%20def", "%25", "%00", "a%0Ab", "x" * 10_240]
)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_bad_input__malformed_connection_id__returns_404(client, list_url, connection_id, method):
    kwargs = {"json": {"warehouse": "X"}} if method == "patch" else {}
    if method == "put":
        kwargs = {"json": {"type": "snowflake", "account_identifier": "xy12345"}}

    response = getattr(client, method)(f"{list_url}{connection_id}/", **kwargs)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


@pytest.mark.parametrize("value", ["x; DROP DATABASE PROD", 'X"; DROP USER U; --', "A' OR '1'='1", "WH\n-- x"])
def test_bad_input__identifier_injection__returns_400_naming_the_field(client, list_url, value):
    response = client.post(list_url, json={"type": "snowflake", "account_identifier": "xy12345", "database": value})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("'database' ")
    assert value not in response.json()["detail"]


def test_bad_input__unknown_query_parameter__returns_400_naming_it(client, list_url):
    response = client.post(f"{list_url}?dry_run=true", content=VALID, headers=JSON)

    assert_problem(response, 400, "Bad Request", "Extra query parameter(s) dry_run not in spec")


@pytest.mark.parametrize("headers", [{}, {"Content-Type": ""}])
def test_bad_input__body_without_content_type__returns_415(client, list_url, headers):
    response = client.post(list_url, content=VALID, headers=headers)

    assert_problem(response, 415, "Unsupported Media Type", "The request has a body but no Content-Type.")
