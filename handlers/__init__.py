"""HTTP handlers, bound to the spec's operationIds. The spec has validated the input already."""

import orjson
from flask import Response, current_app

from warehouse_connections.settings import Settings


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    # An explicit Content-Type: operations that document problem+json too would 500 on a bare dict
    # (connexion issue #1956).
    return Response(orjson.dumps(body), status, headers, mimetype="application/json")


def current_settings() -> Settings:
    return current_app.config["SETTINGS"]
