"""The middleware around the handlers, listed from the outside in: the one place that orders it."""

from functools import partial

from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.middleware.cors import CORSMiddleware

from warehouse_connections.settings import Settings
from warehouse_connections.web import connexion_seam
from warehouse_connections.web.app_state import AppState, AppStateMiddleware
from warehouse_connections.web.guard import RequestGuardMiddleware
from warehouse_connections.web.observability import ObservabilityMiddleware
from warehouse_connections.web.operations import OperationIndex
from warehouse_connections.web.probes import ProbesMiddleware
from warehouse_connections.web.routing import AllowHeaderMiddleware
from warehouse_connections.web.shutdown import ShutdownMiddleware


def stack(
    state: AppState,
    operations: OperationIndex,
    integer_routes: list,
    resources_prefix: str,
    use_internals: bool,
    outer: tuple = (),
) -> list:
    """connexion's middleware and ours, outermost first, for `FlaskApp(middlewares=…)`."""
    settings = state.settings
    return [
        # connexion's last resort: an exception nothing inside handled becomes a 500 problem.
        ServerErrorMiddleware,
        # What the caller (the tests) wraps around everything of ours.
        *outer,
        # First of ours: code outside Flask (the security function, the fast path) finds the app's state.
        partial(AppStateMiddleware, state=state),
        # Outside connexion's error handling, so every answer, errors included, is counted, logged and has an id.
        partial(ObservabilityMiddleware, operations=operations),
        # Outside connexion's error handling too, so 401s, 404s and 409s carry the CORS headers.
        *_cors(settings),
        # Answers 503 to what still runs WC_SHUTDOWN_TIMEOUT after SIGTERM: inside the log line, the id and CORS.
        partial(ShutdownMiddleware, shutdown=state.shutdown),
        # Rewrites the Allow header of the 405s that connexion's router makes inside.
        partial(AllowHeaderMiddleware, operations=operations),
        # connexion's: problems raised by anything inside, and our domain errors, become problem+json.
        ExceptionMiddleware,
        # Before routing, which answers malformed paths and ids badly (the module says how); its problems are
        # turned into responses by the exception middleware outside it.
        partial(
            RequestGuardMiddleware,
            integer_routes=integer_routes,
            max_headers=settings.max_headers,
            body_timeout=settings.body_timeout,
        ),
        # The probes and metrics answer here, on the event loop, once the guard has bounded the request: nothing
        # inside needs to work for them.
        partial(ProbesMiddleware, serve_metrics=settings.metrics == "on"),
        # connexion's docs routes (/api/v1/ui/, openapi.json); ours lets API requests skip them.
        partial(connexion_seam.SwaggerUIMiddleware, resources_prefix=resources_prefix)
        if use_internals
        else SwaggerUIMiddleware,
        # connexion's, in the order it documents: the operation, its caller, its input, its output, lifespan, and
        # the context handlers read.
        RoutingMiddleware,
        SecurityMiddleware,
        RequestValidationMiddleware,
        ResponseValidationMiddleware,
        LifespanMiddleware,
        ContextMiddleware,
    ]


def _cors(settings: Settings) -> list:
    if not settings.cors_origins:
        return []
    return [
        partial(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            # WWW-Authenticate: a dashboard whose bearer token was refused can read why.
            expose_headers=["Location", "Retry-After", "WWW-Authenticate", "X-Request-ID"],
            max_age=600,
        )
    ]
