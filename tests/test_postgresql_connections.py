"""The PostgreSQL type through the API: its config, its sensitive password, its setup script, its SSRF guard."""

import dataclasses
import json

import pytest

from models import ConnectionTest, Secret, WarehouseConnection, database
from models.secret import PRIVATE_KEY
from tests import leak_guard
from tests.interleaving import Interleaved
from tests.problems import assert_problem
from warehouses import postgresql

PUBLIC_HOST = "db.example.com"
PUBLIC_ADDRESS = "93.184.215.14"
DEFAULT_CONFIG = {
    "host": PUBLIC_HOST,
    "port": 5432,
    "database": "analytics",
    "schema": "flagsmith",
    "user": "flagsmith_loader",
    "sslmode": "require",
    "password_managed_by": "service",
}
CUSTOMERS_PASSWORD = leak_guard.record_password("customers-own-pa55word-8f3c1e")


@pytest.fixture
def public_dns(fake_dns):
    fake_dns.answers[PUBLIC_HOST] = [PUBLIC_ADDRESS]
    return fake_dns


@pytest.fixture
def allow_private_hosts(app_state, monkeypatch):
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, allow_private_hosts=True))


@pytest.fixture
def pg_created(client, list_url, public_dns) -> dict:
    response = client.post(list_url, json={"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics"})
    assert response.status_code == 201
    return response.json()


def stored_password(connection_id: str) -> str:
    with database.connection_context():
        return Secret.reveal(connection_id, "config.password").decode()


def everything_stored() -> str:
    """Every row of every table the service writes, as text: what a copy of the database file shows."""
    with database.connection_context():
        return repr(
            [
                database.execute_sql(f"SELECT * FROM {model._meta.table_name}").fetchall()
                for model in (WarehouseConnection, Secret, ConnectionTest)
            ]
        )


def test_create__postgresql_defaults__generates_a_password_kept_only_encrypted(client, list_url, pg_created):
    password = stored_password(pg_created["id"])

    assert pg_created == {
        "id": pg_created["id"],
        "type": "postgresql",
        "status": "pending_customer_setup",
        "config": DEFAULT_CONFIG,
        "public_key": None,
        "setup_script": pg_created["setup_script"],
        "created_at": pg_created["created_at"],
        "last_tested_at": None,
        "last_error": None,
    }
    assert len(password) >= 40
    assert password not in json.dumps(pg_created)
    assert password not in everything_stored()
    assert "'SCRAM-SHA-256$4096:" in pg_created["setup_script"]
    assert client.get(f"{list_url}{pg_created['id']}/").json() == pg_created
    assert client.get(list_url).json() == [pg_created]


def test_create__postgresql__stores_no_private_key(pg_created):
    with database.connection_context():
        names = [secret.name for secret in Secret.select().where(Secret.connection == pg_created["id"])]

    assert names == ["config.password"]
    assert PRIVATE_KEY not in names


def test_setup_script__generated_password__creates_role_schema_and_grants_quoted(pg_created):
    script = pg_created["setup_script"]

    assert "IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'flagsmith_loader')" in script
    assert 'CREATE ROLE "flagsmith_loader" LOGIN;' in script
    assert 'ALTER ROLE "flagsmith_loader" WITH LOGIN PASSWORD \'SCRAM-SHA-256$4096:' in script
    assert "CONNECTION LIMIT 10;" in script
    assert 'ALTER ROLE "flagsmith_loader" SET search_path = "flagsmith";' in script
    assert 'GRANT CONNECT ON DATABASE "analytics" TO "flagsmith_loader";' in script
    assert 'CREATE SCHEMA IF NOT EXISTS "flagsmith";' in script
    assert 'GRANT USAGE, CREATE ON SCHEMA "flagsmith" TO "flagsmith_loader";' in script


def test_create__customers_password__is_write_only_and_the_script_leaves_it_alone(client, list_url, public_dns):
    response = client.post(
        list_url,
        json={"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics", "password": CUSTOMERS_PASSWORD},
    )

    body = response.json()
    assert response.status_code == 201
    assert body["config"] == {**DEFAULT_CONFIG, "password_managed_by": "customer"}
    assert "PASSWORD 'SCRAM" not in body["setup_script"]
    assert 'ALTER ROLE "flagsmith_loader" WITH LOGIN CONNECTION LIMIT 10;' in body["setup_script"]
    assert stored_password(body["id"]) == CUSTOMERS_PASSWORD
    assert CUSTOMERS_PASSWORD not in response.text
    assert CUSTOMERS_PASSWORD not in everything_stored()


def test_patch__without_password__keeps_it_and_the_other_fields(client, list_url, pg_created):
    password = stored_password(pg_created["id"])

    response = client.patch(f"{list_url}{pg_created['id']}/", json={"type": "postgresql", "schema": "events"})

    assert response.status_code == 200
    assert response.json()["config"] == {**DEFAULT_CONFIG, "schema": "events"}
    assert stored_password(pg_created["id"]) == password


def test_patch__password__replaces_it_and_makes_it_the_customers(client, list_url, pg_created):
    response = client.patch(
        f"{list_url}{pg_created['id']}/", json={"type": "postgresql", "password": CUSTOMERS_PASSWORD}
    )

    assert response.status_code == 200
    assert response.json()["config"] == {**DEFAULT_CONFIG, "password_managed_by": "customer"}
    assert "PASSWORD 'SCRAM" not in response.json()["setup_script"]
    assert stored_password(pg_created["id"]) == CUSTOMERS_PASSWORD


def test_put__without_password__keeps_it_and_resets_the_rest_to_defaults(client, list_url, pg_created):
    url = f"{list_url}{pg_created['id']}/"
    client.patch(url, json={"type": "postgresql", "user": "loader", "password": CUSTOMERS_PASSWORD})

    response = client.put(url, json={"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics"})

    assert response.status_code == 200
    assert response.json()["config"] == {**DEFAULT_CONFIG, "password_managed_by": "customer"}
    assert stored_password(pg_created["id"]) == CUSTOMERS_PASSWORD


@pytest.mark.parametrize(
    "body",
    [{"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics"}, {"type": "postgresql", "schema": "events"}],
    ids=["put", "patch"],
)
def test_update__connection_deleted_while_its_password_is_read__returns_404_and_it_stays_deleted(
    client, list_url, organisation, pg_created, monkeypatch, body
):
    url = f"{list_url}{pg_created['id']}/"
    deleting = Interleaved(monkeypatch, Secret, "reveal", lambda: client.delete(url))
    deleting.ends_before(postgresql, "check_destination")

    response = (client.put if "host" in body else client.patch)(url, json=body)

    assert deleting.finished().status_code == 204
    assert_problem(
        response,
        404,
        "Not Found",
        f"No warehouse connection {pg_created['id']!r} in organisation {organisation.id}.",
    )
    assert everything_stored() == repr([[], [], []])


@pytest.mark.parametrize(
    ("field", "value"), [("host", "other.example.com"), ("port", 6432), ("database", "other")], ids=str
)
def test_put__other_warehouse__returns_400_and_changes_nothing(client, list_url, pg_created, field, value):
    body = {"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics", field: value}

    response = client.put(f"{list_url}{pg_created['id']}/", json=body)

    assert_problem(
        response, 400, "Bad Request", f"'{field}' cannot change; delete the connection and create a new one instead."
    )
    assert client.get(f"{list_url}{pg_created['id']}/").json() == pg_created


@pytest.mark.parametrize(
    "body",
    [{"warehouse": "LOAD_WH"}, {"schema": "events"}, {"type": "postgresql", "host": "other.example.com"}],
    ids=["snowflake_field", "snowflake_patch", "immutable_host"],
)
def test_patch__not_a_postgresql_patch__returns_400_and_changes_nothing(client, list_url, pg_created, body):
    response = client.patch(f"{list_url}{pg_created['id']}/", json=body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{list_url}{pg_created['id']}/").json() == pg_created


def test_patch__postgresql_patch_of_a_snowflake_connection__returns_400(client, list_url, created):
    response = client.patch(f"{list_url}{created['id']}/", json={"type": "postgresql", "schema": "events"})

    assert_problem(
        response, 400, "Bad Request", "'type' cannot change; delete the connection and create a new one instead."
    )


@pytest.mark.parametrize(
    ("password", "detail"),
    [
        ("bad\x00password", "'password' does not match ^[^\\u0000]*$"),
        ("bad\ud800password", "'password' must be text that UTF-8 can encode (no lone surrogates)"),
    ],
    ids=["nul", "lone_surrogate"],
)
def test_create__password_postgresql_cannot_keep__returns_400_and_stores_nothing(
    client, list_url, public_dns, password, detail
):
    body = {"type": "postgresql", "host": PUBLIC_HOST, "database": "analytics", "password": password}

    # As JSON escapes: a lone surrogate cannot be encoded otherwise.
    response = client.post(list_url, content=json.dumps(body), headers={"Content-Type": "application/json"})

    assert_problem(response, 400, "Bad Request", detail)
    assert everything_stored() == repr([[], [], []])


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "is an address that is loopback"),
        ("0177.0.0.1", "is an address that is loopback"),
        ("2130706433", "is an address that is loopback"),
        ("127.1", "is an address that is loopback"),
        ("[::1]", "is an address that is loopback"),
        ("::ffff:127.0.0.1", "is an address that is loopback, as 127.0.0.1 in an IPv4-mapped address"),
        ("10.1.2.3", "is an address that is private (RFC 1918)"),
        ("192.168.0.10", "is an address that is private (RFC 1918)"),
        ("169.254.169.254", "is an address that is link-local (the cloud metadata service)"),
        ("100.64.0.1", "is an address that is shared address space (CGNAT, 100.64.0.0/10)"),
        ("fd12:3456::1", "is an address that is unique-local"),
        ("224.0.0.1", "is an address that is multicast"),
        ("0.0.0.0", "is an address that is unspecified"),
        ("240.0.0.1", "is an address that is reserved"),
        ("internal.example.com", "resolves to an address that is private (RFC 1918)"),
    ],
)
def test_create__host_inside_a_private_network__returns_400_naming_host(client, list_url, fake_dns, host, reason):
    fake_dns.answers["internal.example.com"] = [PUBLIC_ADDRESS, "10.0.0.7"]

    response = client.post(list_url, json={"type": "postgresql", "host": host, "database": "analytics"})

    assert_problem(
        response,
        400,
        "Bad Request",
        f"'host' {reason}, which warehouse connections may not reach; only public addresses are allowed "
        "(an operator can allow private networks with WC_ALLOW_PRIVATE_HOSTS=true)",
    )
    assert everything_stored() == repr([[], [], []])


def test_create__private_host_when_the_operator_allows_them__returns_201(
    client, list_url, fake_dns, allow_private_hosts
):
    response = client.post(list_url, json={"type": "postgresql", "host": "10.1.2.3", "database": "analytics"})

    assert response.status_code == 201
    assert response.json()["config"]["host"] == "10.1.2.3"


def test_create__host_that_does_not_resolve_yet__returns_201(client, list_url, fake_dns):
    response = client.post(list_url, json={"type": "postgresql", "host": "new.example.com", "database": "analytics"})

    assert response.status_code == 201
    assert fake_dns.questions == ["new.example.com"]


def test_patch__rebinding_to_a_private_address__is_refused_at_update(client, list_url, pg_created, public_dns):
    public_dns.answers[PUBLIC_HOST] = ["192.168.1.1"]

    response = client.patch(f"{list_url}{pg_created['id']}/", json={"type": "postgresql", "schema": "events"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("'host' resolves to an address that is private (RFC 1918)")
    assert client.get(f"{list_url}{pg_created['id']}/").json() == pg_created


@pytest.mark.parametrize("host", [PUBLIC_HOST, "new.example.com"], ids=["public", "unresolved"])
def test_create__sslmode_disable_for_a_host_not_known_private__returns_400(
    client, list_url, public_dns, allow_private_hosts, host
):
    body = {"type": "postgresql", "host": host, "database": "analytics", "sslmode": "disable"}

    response = client.post(list_url, json=body)

    assert_problem(
        response,
        400,
        "Bad Request",
        "'sslmode' may be 'disable' only for a host inside a private network that the operator allowed "
        "(WC_ALLOW_PRIVATE_HOSTS=true); use require, verify-ca or verify-full",
    )


def test_create__sslmode_disable_for_an_allowed_private_host__returns_201(
    client, list_url, fake_dns, allow_private_hosts
):
    body = {"type": "postgresql", "host": "10.1.2.3", "database": "analytics", "sslmode": "disable"}

    response = client.post(list_url, json=body)

    assert response.status_code == 201
    assert response.json()["config"]["sslmode"] == "disable"


def test_create__postgresql_host_not_a_name__returns_400(client, list_url, fake_dns):
    response = client.post(list_url, json={"type": "postgresql", "host": "db..example.com", "database": "analytics"})

    assert_problem(response, 400, "Bad Request", "'host' must be a DNS name or an IP address")


def test_delete__postgresql__removes_the_password(client, list_url, pg_created):
    response = client.delete(f"{list_url}{pg_created['id']}/")

    assert response.status_code == 204
    assert everything_stored() == repr([[], [], []])
