"""The warehouse-connections resource: one function per operationId."""

from flask import request

from warehouse_connections.web import app_state, representations
from warehouse_connections.web.responses import json_response, no_content
from warehouses import connections


def list_connections(organisation_pk: int):
    return json_response(
        [representations.connection(view) for view in connections.list_for_organisation(organisation_pk)]
    )


def get_connection(organisation_pk: int, id: str):
    return json_response(representations.connection(connections.get(organisation_pk, id)))


def create_connection(organisation_pk: int, body: dict):
    view = connections.create(organisation_pk, body, app_state.current().settings)
    return json_response(representations.connection(view), 201, {"Location": f"{request.path}{view.id}/"})


def update_connection(organisation_pk: int, id: str, body: dict):
    view = connections.replace(organisation_pk, id, body, app_state.current().settings)
    return json_response(representations.connection(view))


def patch_connection(organisation_pk: int, id: str, body: dict):
    view = connections.patch(organisation_pk, id, body, app_state.current().settings)
    return json_response(representations.connection(view))


def test_connection(organisation_pk: int, id: str, token_info: dict, body: dict | None = None):
    state = app_state.current()
    result = connections.run_test(organisation_pk, id, state.settings, state.tests, tested_by=token_info["sub"])
    return json_response(representations.test_result(result))


def list_connection_tests(organisation_pk: int, id: str):
    return json_response([representations.test_record(record) for record in connections.history(organisation_pk, id)])


def delete_connection(organisation_pk: int, id: str):
    connections.delete(organisation_pk, id)
    return no_content()
