"""Probes for the process and its database, outside the API's base path and without authentication."""

import logging

from flask import Response
from peewee import PeeweeException

from handlers import json_response
from handlers.problems import RETRY_AFTER_SECONDS
from models.storage import pending_migrations

logger = logging.getLogger(__name__)


def health():
    return json_response({"status": "ok"})


def ready():
    try:
        pending = pending_migrations()
    except PeeweeException as error:
        logger.warning("not ready: the database cannot be reached: %s", error)
        return _not_ready("The database cannot be reached.")
    if pending:
        return _not_ready(f"Migrations are pending: {', '.join(pending)}.")
    return json_response({"status": "ready"})


def _not_ready(detail: str) -> Response:
    response = json_response(
        {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail},
        503,
        {"Retry-After": RETRY_AFTER_SECONDS},
    )
    response.mimetype = "application/problem+json"
    return response
