"""Responses as the handlers send them."""

import orjson
from flask import Response


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    # An explicit Content-Type: operations that document problem+json too would 500 on a bare dict
    # (connexion issue #1956).
    return Response(orjson.dumps(body), status, headers, mimetype="application/json")


def problem_response(status: int, title: str, detail: str, headers: dict | None = None) -> Response:
    """An RFC 9457 problem, for a handler that answers one itself rather than raising it."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(orjson.dumps(body), status, headers, mimetype="application/problem+json")


def no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, so no type (Flask would say text/html)
    return response
