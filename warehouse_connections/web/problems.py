"""Domain errors as RFC 9457 problems: the one place that maps them to statuses."""

import logging
from dataclasses import asdict

from connexion.exceptions import Unauthorized
from connexion.lifecycle import ConnexionRequest
from connexion.problem import problem
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded

from warehouse_connections.infrastructure import metrics
from warehouse_connections.infrastructure.abandonment import Abandoned
from warehouse_connections.tokens.errors import RETRY_AFTER_SECONDS as KEYS_RETRY_AFTER_SECONDS
from warehouse_connections.tokens.errors import KeysUnavailable
from warehouses import InvalidConfig
from warehouses.connection_test_pool import TestsBusy
from warehouses.connections import ConnectionExists, ConnectionNotFound, EditConflict, ImmutableField, StaleTest
from warehouses.key_rotations import KeyRejected, NoKeyPair, NoKeyRotation, RotationPending, StaleKeyCheck

DOMAIN_ERRORS = {
    ConnectionNotFound: (404, "Not Found"),
    ConnectionExists: (409, "Conflict"),
    StaleTest: (409, "Conflict"),
    EditConflict: (409, "Conflict"),
    NoKeyPair: (409, "Conflict"),
    RotationPending: (409, "Conflict"),
    NoKeyRotation: (404, "Not Found"),
    StaleKeyCheck: (409, "Conflict"),
    ImmutableField: (400, "Bad Request"),
    InvalidConfig: (400, "Bad Request"),
    # The shutdown has answered the request 503 already; this answer goes nowhere, it only ends the handler.
    Abandoned: (503, "Service Unavailable"),
}


# The database is down, unreachable, or every pooled connection is busy: worth trying again shortly.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)
RETRY_AFTER_SECONDS = "5"
# Every 401 says how to authenticate (RFC 9110, 11.6.1); a refused bearer token's says why instead (RFC 6750, 3).
CHALLENGE = 'Api-Key realm="warehouse-connections", Bearer realm="warehouse-connections"'
logger = logging.getLogger(__name__)


def register(app) -> None:
    for error, (status, title) in DOMAIN_ERRORS.items():
        app.add_error_handler(error, _handler(status, title))
    app.add_error_handler(TestsBusy, _tests_busy)
    app.add_error_handler(KeyRejected, _key_rejected)
    for error in DATABASE_UNAVAILABLE:
        app.add_error_handler(error, _database_unavailable)
    app.add_error_handler(Unauthorized, _unauthorized)
    app.add_error_handler(KeysUnavailable, _keys_unavailable)


def _handler(status: int, title: str):
    # The messages of these errors name fields, never values: they are safe to return.
    def handle(_request: ConnexionRequest, error: Exception):
        return problem(status=status, title=title, detail=str(error))

    return handle


def _key_rejected(_request: ConnexionRequest, error: KeyRejected):
    # The step's message is the warehouse's own words, as in a test result: never a key.
    return problem(status=409, title="Conflict", detail=str(error), ext={"step": asdict(error.step)})


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


async def _unauthorized(_request: ConnexionRequest, error: Unauthorized):
    # The detail is the reason, never the credential.
    logger.info("401: %s", error.detail)
    challenge = (error.headers or {}).get("WWW-Authenticate", CHALLENGE)
    return problem(status=401, title="Unauthorized", detail=error.detail, headers={"WWW-Authenticate": challenge})


async def _keys_unavailable(_request: ConnexionRequest, _error: KeysUnavailable):
    # Not 401: the token may be good, but no key to check it with has been fetched from its issuer yet.
    return problem(
        status=503,
        title="Service Unavailable",
        detail="The token issuer's keys could not be fetched yet; try again shortly.",
        headers={"Retry-After": str(KEYS_RETRY_AFTER_SECONDS)},
    )
