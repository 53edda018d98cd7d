"""The operations spec's probes and metrics, outside the API's base path and without authentication.

They answer on the event loop (web/probes.py routes to them), never on a request thread, so a pool of
threads stuck on hung work cannot make an orchestrator think the process is dead.
"""

import logging
from collections.abc import Awaitable, Callable

import orjson
from peewee import PeeweeException
from starlette.responses import Response

from models.storage import pending_migrations
from warehouse_connections.infrastructure import metrics as service_metrics
from warehouse_connections.web.problems import RETRY_AFTER_SECONDS

# How long /ready waits for the database before it answers 503.
READY_TIMEOUT_SECONDS = 1.0
logger = logging.getLogger(__name__)


async def health(run_blocking: Callable[..., Awaitable]) -> Response:
    """Up while the process can serve: no database, no thread."""
    return _json({"status": "ok"})


async def ready(run_blocking: Callable[..., Awaitable]) -> Response:
    try:
        pending = await run_blocking(pending_migrations, timeout=READY_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("not ready: the database did not answer within %s s", READY_TIMEOUT_SECONDS)
        return _not_ready(f"The database did not answer within {READY_TIMEOUT_SECONDS:g} s.")
    except PeeweeException as error:
        logger.warning("not ready: the database cannot be reached: %s", error)
        return _not_ready("The database cannot be reached.")
    if pending:
        return _not_ready(f"Migrations are pending: {', '.join(pending)}.")
    return _json({"status": "ready"})


async def metrics(run_blocking: Callable[..., Awaitable]) -> Response:
    body, content_type = service_metrics.exposition()
    return Response(body, headers={"Content-Type": content_type})


def _json(body: dict) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _not_ready(detail: str) -> Response:
    body = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail}
    return Response(
        orjson.dumps(body), 503, headers={"Retry-After": RETRY_AFTER_SECONDS}, media_type="application/problem+json"
    )
