"""The app factory: one connexion FlaskApp over the spec, bound to the configured storage."""

import connexion
import yaml
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions

from handlers import problems
from handlers.guards import RequestGuardMiddleware, integer_parameters
from handlers.routing import AllowHeaderMiddleware, allowed_methods
from handlers.validation import validator_map
from models import database
from models.secret import configure_encryption
from models.storage import bind_database
from openapi import SPEC_PATH
from warehouse_connections.encryption_keys import load_cipher
from warehouse_connections.settings import Settings

# The spec's server URL: every path in the spec is served under it.
BASE_PATH = "/api/v1"


def connect_storage(settings: Settings) -> None:
    """Point the models at the database and the secret store at its keys."""
    bind_database(settings.database_url)
    configure_encryption(load_cipher(settings))


def create_app(settings: Settings) -> connexion.FlaskApp:
    connect_storage(settings)
    spec = yaml.safe_load(SPEC_PATH.read_text())
    app = connexion.FlaskApp(__name__)
    app.add_middleware(
        RequestGuardMiddleware,
        position=MiddlewarePosition.BEFORE_SWAGGER,
        integer_routes=integer_parameters(spec, BASE_PATH),
    )
    app.add_middleware(
        AllowHeaderMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, routes=allowed_methods(spec, BASE_PATH)
    )
    app.add_api(
        spec,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=True),
    )
    app.app.config["SETTINGS"] = settings
    problems.register(app)
    app.app.before_request(_open_connection)
    app.app.teardown_request(_close_connection)
    return app


def app_from_env() -> connexion.FlaskApp:
    """The factory uvicorn calls in each worker process."""
    return create_app(Settings.from_env())


def _open_connection() -> None:
    database.connect(reuse_if_open=True)


def _close_connection(_error: BaseException | None) -> None:
    # Returns the connection to the pool; any transaction left open is rolled back there.
    if not database.is_closed():
        database.close()
