"""Domain errors as RFC 9457 problems: the one place that maps them to statuses."""

import logging

from connexion.lifecycle import ConnexionRequest
from connexion.problem import problem
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded

from warehouse_connections.infrastructure import metrics
from warehouse_connections.infrastructure.abandonment import Abandoned
from warehouses import InvalidConfig
from warehouses.connection_test_pool import TestsBusy
from warehouses.connections import ConnectionExists, ConnectionNotFound, ImmutableField, StaleTest

DOMAIN_ERRORS = {
    ConnectionNotFound: (404, "Not Found"),
    ConnectionExists: (409, "Conflict"),
    StaleTest: (409, "Conflict"),
    ImmutableField: (400, "Bad Request"),
    InvalidConfig: (400, "Bad Request"),
    # The shutdown has answered the request 503 already; this answer goes nowhere, it only ends the handler.
    Abandoned: (503, "Service Unavailable"),
}


# The database is down, unreachable, or every pooled connection is busy: worth trying again shortly.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)
RETRY_AFTER_SECONDS = "5"
logger = logging.getLogger(__name__)


def register(app) -> None:
    for error, (status, title) in DOMAIN_ERRORS.items():
        app.add_error_handler(error, _handler(status, title))
    app.add_error_handler(TestsBusy, _tests_busy)
    for error in DATABASE_UNAVAILABLE:
        app.add_error_handler(error, _database_unavailable)


def _handler(status: int, title: str):
    # The messages of these errors name fields, never values: they are safe to return.
    def handle(_request: ConnexionRequest, error: Exception):
        return problem(status=status, title=title, detail=str(error))

    return handle


def _tests_busy(_request: ConnexionRequest, error: TestsBusy):
    metrics.CONNECTION_TESTS.labels("refused").inc()
    return problem(
        status=503, title="Service Unavailable", detail=str(error), headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


def _database_unavailable(_request: ConnexionRequest, error: Exception):
    metrics.DATABASE_ERRORS.inc()
    logger.error("database unavailable: %s: %s", type(error).__name__, error)
    return problem(
        status=503,
        title="Service Unavailable",
        detail="The database cannot be reached; try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
