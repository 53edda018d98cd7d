"""The app factory: one connexion FlaskApp over the spec, bound to the configured storage."""

import functools

import connexion
import yaml
from connexion.middleware import MiddlewarePosition, swagger_ui
from connexion.options import SwaggerUIOptions
from flask import Response
from starlette.middleware.cors import CORSMiddleware

from handlers import auth, health, inline, problems
from handlers.guards import RequestGuardMiddleware, integer_parameters
from handlers.observability import ObservabilityMiddleware
from handlers.operations import OperationIndex
from handlers.routing import AllowHeaderMiddleware, SwaggerUIMiddleware
from handlers.validation import validator_map
from models import Secret, database
from models.secret import configure_encryption
from models.storage import bind_database
from openapi import SPEC_PATH
from warehouse_connections import metrics
from warehouse_connections.encryption_keys import load_cipher
from warehouse_connections.launch import objects_for_life
from warehouse_connections.logs import configure_logging
from warehouse_connections.settings import Settings

# The spec's server URL: every path in the spec is served under it, except those with `servers` of their own.
BASE_PATH = "/api/v1"
# Where the API's resources live (every operation's path, today); the Swagger UI and the spec (BASE_PATH/ui/,
# BASE_PATH/openapi.json) never do. A path added outside it still works: it only takes connexion's UI routes.
RESOURCES_PREFIX = f"{BASE_PATH}/organisations/"


def connect_storage(settings: Settings) -> None:
    """Point the models at the database and the secret store at its keys."""
    bind_database(settings.database_url)
    configure_encryption(load_cipher(settings))


def create_app(settings: Settings, outer_middlewares: tuple = ()) -> connexion.FlaskApp:
    """The app, over the storage connect_storage bound; `outer_middlewares` go outside all of ours (the tests
    record statuses with one)."""
    # libyaml's loader: PyYAML's pure-Python one takes a third of the start-up.
    spec = yaml.load(SPEC_PATH.read_text(), Loader=yaml.CSafeLoader)
    operations = OperationIndex(spec, BASE_PATH)
    app = connexion.FlaskApp(__name__)
    for middleware in outer_middlewares:
        app.add_middleware(middleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # Added outermost first: each one added at a position goes inside the ones added there before it.
    app.add_middleware(ObservabilityMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, operations=operations)
    if settings.cors_origins:
        # Outside connexion's error handling, so 401s, 404s and 409s carry the CORS headers too.
        app.add_middleware(
            CORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(AllowHeaderMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, operations=operations)
    app.add_middleware(
        RequestGuardMiddleware,
        position=MiddlewarePosition.BEFORE_SWAGGER,
        integer_routes=integer_parameters(spec, BASE_PATH),
    )
    # Swapped in after the guard went before it: add_middleware finds its positions by connexion's classes.
    stack = app.middleware.middlewares
    stack[stack.index(swagger_ui.SwaggerUIMiddleware)] = functools.partial(
        SwaggerUIMiddleware, resources_prefix=RESOURCES_PREFIX
    )
    with inline.spec_check_skipped(enabled=settings.fast_path):
        app.add_api(
            # The probes have servers of their own (the root); the app serves them itself, below.
            {**spec, "paths": {path: item for path, item in spec["paths"].items() if "servers" not in item}},
            strict_validation=True,
            validate_responses=settings.validate_responses,
            validator_map={**validator_map, **inline.VALIDATOR_MAP} if settings.fast_path else validator_map,
            security_map=inline.SECURITY_MAP if settings.fast_path else None,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=True),
        )
    app.add_url_rule("/health", "health", health.health)
    app.add_url_rule("/ready", "ready", health.ready)
    if settings.metrics == "on":
        app.add_url_rule("/metrics", "metrics", _metrics)
    app.app.config["SETTINGS"] = settings
    auth.callers = auth.CallerCache(settings.api_key_cache_seconds)
    problems.register(app)
    app.app.before_request(_open_connection)
    app.app.teardown_request(_close_connection)
    inline.install(app, enabled=settings.fast_path)
    return app


def app_from_env() -> connexion.FlaskApp:
    """The factory uvicorn calls in each worker process of `serve --workers N`."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    connect_storage(settings)
    with database.connection_context():
        Secret.check_keys()
    with objects_for_life():
        return create_app(settings)


def _metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def _open_connection() -> None:
    database.connect(reuse_if_open=True)


def _close_connection(_error: BaseException | None) -> None:
    # Returns the connection to the pool; any transaction left open is rolled back there.
    if not database.is_closed():
        database.close()
