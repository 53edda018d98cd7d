"""The middleware around the handlers (warehouse_connections/web/middleware.py), from the outside in."""

from connexion.middleware import ConnexionMiddleware

from tests.status_coverage import StatusRecorder
from warehouse_connections.web import connexion_seam
from warehouse_connections.web.app_state import AppStateMiddleware
from warehouse_connections.web.guard import RequestGuardMiddleware
from warehouse_connections.web.observability import ObservabilityMiddleware
from warehouse_connections.web.probes import ProbesMiddleware
from warehouse_connections.web.routing import AllowHeaderMiddleware
from warehouse_connections.web.shutdown import ShutdownMiddleware


def classes(app) -> list[type]:
    return [getattr(middleware, "func", middleware) for middleware in app.middleware.middlewares]


def test_middleware__session_app__wraps_ours_around_and_between_connexions_own(app):
    # Read from connexion: a connexion that adds or reorders its defaults fails here.
    server_error, exception, _swagger_ui, *inner = ConnexionMiddleware.default_middlewares

    assert classes(app) == [
        server_error,
        StatusRecorder,
        AppStateMiddleware,
        ObservabilityMiddleware,
        ShutdownMiddleware,
        AllowHeaderMiddleware,
        exception,
        RequestGuardMiddleware,
        ProbesMiddleware,
        connexion_seam.SwaggerUIMiddleware,
        *inner,
    ]
