import json

from models import WarehouseConnection, database
from tests.examples import SEED_CONFIG


def test_list__no_connection__returns_empty_array(client, list_url):
    response = client.get(list_url)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []


def test_list__connection_exists__returns_it_with_the_seed_shape(client, list_url, connection):
    response = client.get(list_url)

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": connection.id,
            "type": "snowflake",
            "status": "error",
            "config": SEED_CONFIG,
            "public_key": "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA",
            "setup_script": "-- Flagsmith Analytics\nUSE ROLE SYSADMIN;\n",
            "created_at": "2026-04-17T10:00:00Z",
            "last_tested_at": "2026-04-17T10:05:00Z",
            "last_error": "JWT token is invalid.",
        }
    ]


def test_list__never_tested_connection__returns_nulls(client, list_url, organisation):
    with database.connection_context():
        WarehouseConnection.create(
            organisation=organisation,
            type="snowflake",
            config=json.dumps(SEED_CONFIG),
            public_key="MII",
            setup_script="",
        )

    (item,) = client.get(list_url).json()

    assert (item["status"], item["last_tested_at"], item["last_error"]) == ("pending_customer_setup", None, None)


def test_list__other_organisations_connection__is_not_listed(client, list_url, other_organisations_connection):
    response = client.get(list_url)

    assert response.status_code == 200
    assert response.json() == []


def test_list__read_only_key__returns_200(app, read_only_api_key, list_url, connection):
    client = app.test_client(headers={"Authorization": f"Api-Key {read_only_api_key}"})

    response = client.get(list_url)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [connection.id]


def test_list__extra_query_parameter__returns_400(client, list_url):
    response = client.get(list_url + "?page=2")

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Extra query parameter(s) page not in spec",
    }
