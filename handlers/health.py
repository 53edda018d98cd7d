"""The operations spec's probes and metrics, outside the API's base path and without authentication."""

import logging

from flask import Response
from peewee import PeeweeException

from models.storage import pending_migrations
from warehouse_connections.infrastructure import metrics as service_metrics
from warehouse_connections.web.problems import RETRY_AFTER_SECONDS
from warehouse_connections.web.responses import json_response, problem_response

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


def metrics():
    body, content_type = service_metrics.exposition()
    return Response(body, content_type=content_type)


def _not_ready(detail: str):
    return problem_response(503, "Service Unavailable", detail, {"Retry-After": RETRY_AFTER_SECONDS})
