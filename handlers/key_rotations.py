"""A connection's key rotation: one function per operationId."""

from flask import request

from warehouse_connections.web import app_state, representations
from warehouse_connections.web.responses import json_response, no_content
from warehouses import key_rotations


def start_key_rotation(organisation_pk: int, id: str):
    rotation = key_rotations.start(organisation_pk, id, app_state.current().settings)
    return json_response(representations.key_rotation(rotation), 201, {"Location": request.path})


def get_key_rotation(organisation_pk: int, id: str):
    return json_response(representations.key_rotation(key_rotations.get(organisation_pk, id)))


def cancel_key_rotation(organisation_pk: int, id: str):
    key_rotations.cancel(organisation_pk, id)
    return no_content()


def complete_key_rotation(organisation_pk: int, id: str):
    state = app_state.current()
    completed = key_rotations.complete(organisation_pk, id, state.settings, state.tests)
    return json_response(representations.completed_rotation(completed))
