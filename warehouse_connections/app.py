"""The app factory: one connexion FlaskApp over the spec, bound to the configured storage, owning its state."""

import logging

import connexion
import yaml
from connexion.options import SwaggerUIOptions

from models import Secret, database
from models.secret import configure_encryption
from models.storage import bind_database, bound_waits
from openapi import OPERATIONS_SPEC_PATH, SPEC_PATH
from warehouse_connections.infrastructure.encryption_keys import load_cipher
from warehouse_connections.infrastructure.logs import configure_logging
from warehouse_connections.settings import Settings
from warehouse_connections.startup import objects_for_life
from warehouse_connections.web import connect_page, connexion_seam, middleware, problems
from warehouse_connections.web.app_state import EXTENSION, AppState
from warehouse_connections.web.caller_cache import CallerCache
from warehouse_connections.web.fast_path import INLINE_OPERATIONS, FastPath
from warehouse_connections.web.guard import integer_parameters
from warehouse_connections.web.operations import OperationIndex
from warehouse_connections.web.served_spec import ServedSpec
from warehouse_connections.web.shutdown import Shutdown
from warehouse_connections.web.validation import validator_map
from warehouses.connection_test_pool import ConnectionTestPool

# The API spec's server URL: every path in it is served under it (the operations spec's are at the root).
BASE_PATH = "/api/v1"
# Where the API's resources live (every operation's path, today); the Swagger UI and the spec (BASE_PATH/ui/,
# BASE_PATH/openapi.json) never do. A path added outside it still works: it only takes connexion's UI routes.
RESOURCES_PREFIX = f"{BASE_PATH}/organisations/"
SPECS = (SPEC_PATH, OPERATIONS_SPEC_PATH)
logger = logging.getLogger(__name__)


def connect_storage(settings: Settings) -> None:
    """Point the models at the database and the secret store at its keys."""
    bind_database(settings.database_url)
    configure_encryption(load_cipher(settings))


def create_app(settings: Settings, outer_middlewares: tuple = ()) -> connexion.FlaskApp:
    """The app, over the storage connect_storage bound; `outer_middlewares` go outside all of ours (the tests
    record statuses with one).

    connexion's internals (connexion_seam) make the fast path; where one is missing, the app is built on
    connexion's stock path instead, with one warning that names it.
    """
    # The app serves requests, whose waits on the database are bounded; the commands before it (migrations) wait.
    bound_waits()
    # libyaml's loader: PyYAML's pure-Python one takes a third of the start-up.
    spec, operations_spec = (yaml.load(path.read_text(), Loader=yaml.CSafeLoader) for path in SPECS)
    reason = connexion_seam.incompatibility() if settings.fast_path else "WC_FAST_PATH is off"
    app = _build(spec, operations_spec, settings, outer_middlewares, use_internals=reason is None)
    if reason is None:
        reason = connexion_seam.incompatibility(app, INLINE_OPERATIONS)
        if reason is None:
            app.app.extensions[EXTENSION].fast_path.install(app)
            return app
        app = _build(spec, operations_spec, settings, outer_middlewares, use_internals=False)
    logger.log(
        logging.INFO if not settings.fast_path else logging.WARNING,
        "fast path off, every request goes through connexion's stock path: %s",
        reason,
    )
    return app


def _build(
    spec: dict, operations_spec: dict, settings: Settings, outer_middlewares: tuple, use_internals: bool
) -> connexion.FlaskApp:
    tests = ConnectionTestPool(settings.max_concurrent_tests, problems.RETRY_AFTER_SECONDS)
    state = AppState(
        settings,
        CallerCache(settings.api_key_cache_seconds),
        FastPath(tests),
        Shutdown(),
        tests,
        _token_verifier(settings),
    )
    operations = OperationIndex(spec, operations_spec)
    app = connexion.FlaskApp(
        __name__,
        middlewares=middleware.stack(
            state,
            operations,
            integer_parameters(spec, BASE_PATH),
            RESOURCES_PREFIX,
            use_internals,
            outer=outer_middlewares,
        ),
    )
    with connexion_seam.spec_check_skipped(enabled=use_internals):
        app.add_api(
            spec,
            strict_validation=True,
            validate_responses=settings.validate_responses,
            validator_map={**validator_map, **connexion_seam.VALIDATOR_MAP} if use_internals else validator_map,
            security_map=connexion_seam.SECURITY_MAP if use_internals else None,
            # The UI loads BASE_PATH/openapi.json, which the app serves itself: the spec as written.
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=False),
        )
    ServedSpec(spec).add_routes(app.app, f"{BASE_PATH}/openapi")
    ServedSpec(operations_spec).add_routes(app.app, "/openapi-operations")
    connect_page.add_routes(app.app, settings.connect_page_frame_ancestors, spec)
    app.app.extensions[EXTENSION] = state
    problems.register(app)
    # A request opens a connection at its first query (peewee's autoconnect), so one that makes none (the spec,
    # a 404) never waits on the database.
    app.app.teardown_request(_close_connection)
    if use_internals:
        # Registered now rather than on the first request, so that they can be checked and decorated.
        connexion_seam.build_views(app)
    return app


def _token_verifier(settings: Settings):
    """The bearer tokens' verifier, or None where none are accepted."""
    if settings.jwt is None:
        return None
    # Here, not at the top: PyJWT (and with it the RSA code) loads only where bearer tokens are configured.
    from warehouse_connections.tokens.verifier import TokenVerifier

    return TokenVerifier.from_settings(settings.jwt)


def app_from_env() -> connexion.FlaskApp:
    """The factory uvicorn calls in each worker process of `serve --workers N`."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    connect_storage(settings)
    with database.connection_context():
        Secret.check_keys()
    with objects_for_life():
        return create_app(settings)


def _close_connection(_error: BaseException | None) -> None:
    # Returns the connection, if the request opened one, to the pool; any transaction left open ends there.
    if not database.is_closed():
        database.close()
