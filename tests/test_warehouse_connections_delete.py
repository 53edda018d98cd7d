from models import Secret, WarehouseConnection, database


def test_delete__own_connection__returns_204_and_removes_it_and_its_key(client, list_url, created):
    response = client.delete(f"{list_url}{created['id']}/")

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{list_url}{created['id']}/").status_code == 404
    assert client.get(list_url).json() == []
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0
        assert Secret.select().count() == 0


def test_delete__then_create__gives_a_new_id_and_key_pair(client, list_url, created):
    client.delete(f"{list_url}{created['id']}/")

    response = client.post(list_url, json={"type": "snowflake", "account_identifier": "xy12345.us-east-1"})

    assert response.status_code == 201
    assert response.json()["id"] != created["id"]
    assert response.json()["public_key"] != created["public_key"]


def test_delete__twice__returns_404_the_second_time(client, list_url, created):
    client.delete(f"{list_url}{created['id']}/")

    response = client.delete(f"{list_url}{created['id']}/")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_delete__other_organisations_connection__returns_404_and_keeps_it(
    client, list_url, other_organisations_connection
):
    response = client.delete(f"{list_url}{other_organisations_connection.id}/")

    assert response.status_code == 404
    with database.connection_context():
        assert WarehouseConnection.select().where(WarehouseConnection.id == other_organisations_connection.id).exists()


def test_delete__read_only_key__returns_403_and_keeps_it(app, read_only_api_key, list_url, created):
    client = app.test_client(headers={"Authorization": f"Api-Key {read_only_api_key}"})

    response = client.delete(f"{list_url}{created['id']}/")

    assert response.status_code == 403
    with database.connection_context():
        assert WarehouseConnection.select().count() == 1
