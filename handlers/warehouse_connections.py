"""The warehouse-connections resource: one function per operationId."""

from handlers import json_response
from warehouse_connections import connections


def list_connections(organisation_pk: int):
    return json_response([c.to_api() for c in connections.list_for_organisation(organisation_pk)])


def get_connection(organisation_pk: int, id: str):
    return json_response(connections.get_for_organisation(organisation_pk, id).to_api())
