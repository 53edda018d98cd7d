"""The app factory: one connexion FlaskApp over the spec, bound to the configured database."""

import connexion
from connexion.options import SwaggerUIOptions

from handlers import problems
from models import database
from models.storage import bind_database
from openapi import SPEC_PATH
from warehouse_connections.settings import Settings


def create_app(settings: Settings) -> connexion.FlaskApp:
    bind_database(settings.database_url)
    app = connexion.FlaskApp(__name__, specification_dir=SPEC_PATH.parent)
    app.add_api(
        SPEC_PATH.name,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=True),
    )
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
