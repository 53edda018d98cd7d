import pytest


def test_detail__own_connection__returns_the_list_item_unwrapped(client, list_url, connection):
    listed = client.get(list_url).json()

    response = client.get(f"{list_url}{connection.id}/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert [response.json()] == listed


@pytest.mark.parametrize(
    "connection_id",
    ["wc_00000000000000000000", "wc_abc", "WC_ABCDEFGHIJKLMNOPQRST", "not-an-id", "x" * 10_000],
)
def test_detail__unknown_or_malformed_id__returns_404(client, list_url, organisation, connection, connection_id):
    response = client.get(f"{list_url}{connection_id}/")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": f"No warehouse connection {connection_id[:80]!r} in organisation {organisation.id}.",
    }


def test_detail__other_organisations_id__returns_404(client, list_url, other_organisations_connection):
    response = client.get(f"{list_url}{other_organisations_connection.id}/")

    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


def test_detail__path_without_trailing_slash__redirects_to_the_slashed_path(client, list_url, connection):
    response = client.get(f"{list_url}{connection.id}", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"].endswith(f"{list_url}{connection.id}/")
