"""The warehouse-connections resource: one function per operationId."""

from flask import Response, request

from handlers import current_settings, json_response
from warehouse_connections import connections


def list_connections(organisation_pk: int):
    return json_response(connections.list_for_api(organisation_pk))


def get_connection(organisation_pk: int, id: str):
    return json_response(connections.get_for_api(organisation_pk, id))


def create_connection(organisation_pk: int, body: dict):
    connection = connections.create(organisation_pk, body, key_bits=current_settings().rsa_key_bits)
    return json_response(connection.to_api(), 201, {"Location": f"{request.path}{connection.id}/"})


def update_connection(organisation_pk: int, id: str, body: dict):
    return json_response(connections.replace(organisation_pk, id, body).to_api())


def patch_connection(organisation_pk: int, id: str, body: dict):
    return json_response(connections.patch(organisation_pk, id, body).to_api())


def test_connection(organisation_pk: int, id: str, body: dict | None = None):
    return json_response(connections.run_test(organisation_pk, id, current_settings()).to_api())


def delete_connection(organisation_pk: int, id: str):
    connections.delete(organisation_pk, id)
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, so no type (Flask would say text/html)
    return response
