"""Domain errors as RFC 9457 problems: the one place that maps them to statuses."""

from connexion.lifecycle import ConnexionRequest
from connexion.problem import problem

from warehouse_connections.connections import ConnectionExists, ConnectionNotFound, ImmutableField, StaleTest
from warehouses import InvalidConfig

DOMAIN_ERRORS = {
    ConnectionNotFound: (404, "Not Found"),
    ConnectionExists: (409, "Conflict"),
    StaleTest: (409, "Conflict"),
    ImmutableField: (400, "Bad Request"),
    InvalidConfig: (400, "Bad Request"),
}


def register(app) -> None:
    for error, (status, title) in DOMAIN_ERRORS.items():
        app.add_error_handler(error, _handler(status, title))


def _handler(status: int, title: str):
    # The messages of these errors name fields, never values: they are safe to return.
    def handle(_request: ConnexionRequest, error: Exception):
        return problem(status=status, title=title, detail=str(error))

    return handle
