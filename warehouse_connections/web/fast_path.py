"""The fast path: short reads run on the event loop, and connexion's per-request rebuilding is done once.

connexion 3.3 hands every Flask view to a2wsgi's 10-thread pool. Under load those threads spend their
time waiting on each other (docs/performance.md), so the operations in INLINE_OPERATIONS, each one
indexed read that never waits on a lock, call the Flask app directly on the event loop instead. Every
other operation (the connection test, writes that may wait on a lock) keeps the thread pool.

It relies on these internals of connexion 3.3 and a2wsgi 1.10 (the versions TESTED), checked at start-up:
- `ConnexionMiddleware._build_middleware_stack()`, called early, so that the API's Flask views exist;
- `FlaskApp._middleware_app.asgi_app`: the a2wsgi `WSGIMiddleware` that runs the Flask app in threads;
- `scope["extensions"][ROUTING_CONTEXT]["operation_id"]`: the operation connexion's router matched;
- `a2wsgi.wsgi.build_environ(scope, body)`: a WSGI environ from an ASGI scope;
- `FlaskOperation._fn`, `.pythonic_params`, `.jsonifier` and `FlaskDecorator.decorate`: connexion builds
  a decorator and decorates the view anew on every request; here each view is decorated once;
- `FlaskDecorator._parameter_decorator_cls` and `WSGIRequest.view_args`: a handler that takes only its
  route's path variables gets them from Flask's URL converters (PathParameterDecorator).
If any is missing, the service serves everything on connexion's stock path and logs a warning saying why.

At start-up, `Specification._validate_spec` is skipped while create_app adds the API (spec_check_skipped):
connexion checks the spec against the OpenAPI schema on every start (~8 % of start-up), and ours is packaged
with the service and checked in CI instead (tests/test_spec.py). If it is gone, the check simply runs.

Two more per-request wastes go through connexion's public `security_map` and `validator_map`; each overrides
one method, and if connexion stopped calling it the override would only go unused:
- `AbstractSecurityHandler._accepts_kwarg`, which runs `inspect.signature` twice per request;
- `ParameterValidator.validate_parameter`, which deep-copies each parameter and builds a JSON Schema
  validator for it on every request.
"""

import asyncio
import contextlib
import contextvars
import functools
import inspect
import io
import logging
import time
from collections.abc import Iterator
from importlib.metadata import version

import a2wsgi
import a2wsgi.wsgi
import connexion.security
import connexion.validators
from connexion.apps.flask import FlaskOperation
from connexion.decorators import FlaskDecorator
from connexion.decorators.parameter import SyncParameterDecorator
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.spec import Specification
from connexion.utils import is_null, is_nullable
from jsonschema import Draft4Validator, ValidationError

from handlers.problems import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

# One indexed read each; never an operation that may block (the connection test, writes).
INLINE_OPERATIONS = frozenset({"list_connections", "get_connection"})
TESTED = {"connexion": "3.3.", "a2wsgi": "1.10."}
REQUIRED_FUNCTIONS = ((FlaskDecorator, "decorate"), (a2wsgi.wsgi, "build_environ"))
REQUIRED_PROPERTIES = ((FlaskDecorator, "_parameter_decorator_cls"),)
logger = logging.getLogger(__name__)

# connexion's names (controller.operationId) of the inline operations of this process's app, once installed.
_inline_ids: frozenset[str] = frozenset()
# After a database error the event loop must not wait on reconnects: inline operations use the threads
# again until then.
_threads_until = 0.0


def install(app, enabled: bool = True) -> bool:
    """Put the fast path into a connexion FlaskApp; False (and a warning) if this connexion can't take it."""
    global _inline_ids
    _inline_ids = frozenset()
    _build_views(app.middleware)
    reason = _unsupported(app) if enabled else "WC_FAST_PATH is off"
    if reason is not None:
        logger.log(
            logging.WARNING if enabled else logging.INFO,
            "fast path off, every request goes through connexion's stock path: %s",
            reason,
        )
        return False
    views = app.app.view_functions
    operations = {endpoint: view for endpoint, view in views.items() if isinstance(view, FlaskOperation)}
    for endpoint, view in operations.items():
        views[endpoint] = _decorated_once(view, path_only=_takes_only_path_variables(app.app, endpoint, view))
    app._middleware_app.asgi_app = InlineDispatch(app.app.wsgi_app, threaded=app._middleware_app.asgi_app)
    _inline_ids = frozenset(
        view.operation_id for view in operations.values() if _spec_operation_id(view) in INLINE_OPERATIONS
    )
    return True


@contextlib.contextmanager
def spec_check_skipped(enabled: bool = True) -> Iterator[None]:
    """While the block runs, connexion takes specs without checking them against the OpenAPI schema."""
    original = Specification.__dict__.get("_validate_spec")
    if not enabled or not isinstance(original, classmethod):
        yield
        return
    Specification._validate_spec = classmethod(lambda cls, spec: None)
    try:
        yield
    finally:
        Specification._validate_spec = original


def runs_inline(scope) -> bool:
    operation_id = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")
    return operation_id in _inline_ids and time.monotonic() >= _threads_until


async def call(scope, function, *args):
    """`function(*args)` on the event loop for an inline operation, else in a worker thread."""
    if not runs_inline(scope):
        return await asyncio.to_thread(function, *args)
    try:
        return function(*args)
    except DATABASE_UNAVAILABLE:
        _use_threads_for_a_while()
        raise


class InlineDispatch:
    """The ASGI app in connexion's place for the Flask app: inline operations here, the rest to a2wsgi."""

    def __init__(self, wsgi_app, threaded):
        self.wsgi_app = wsgi_app
        self.threaded = threaded

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not runs_inline(scope):
            return await self.threaded(scope, receive, send)
        environ = a2wsgi.wsgi.build_environ(scope, io.BytesIO(await _read_body(receive)))
        try:
            status, headers, body = contextvars.copy_context().run(self._respond, environ)
        except DATABASE_UNAVAILABLE:
            _use_threads_for_a_while()
            raise
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _respond(self, environ) -> tuple[int, list, bytes]:
        started, written = [], []

        def start_response(status: str, headers: list, exc_info=None):
            if exc_info is not None:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]]
            return written.append  # WSGI's legacy write()

        chunks = self.wsgi_app(environ, start_response)
        try:
            written.extend(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        status, headers = started
        return status, headers, b"".join(written)


class ApiKeySecurityHandler(connexion.security.ApiKeySecurityHandler):
    @staticmethod
    @functools.lru_cache(maxsize=32)  # keyed by the key function, of which there is one
    def _accepts_kwarg(func, keyword: str) -> bool:
        return connexion.security.ApiKeySecurityHandler._accepts_kwarg(func, keyword)


class ParameterValidator(connexion.validators.ParameterValidator):
    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return connexion.validators.ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            _schema_validator(param).validate(value)
        except ValidationError as exception:
            return str(exception)
        return None


SECURITY_MAP = {"apiKey": ApiKeySecurityHandler}  # connexion merges it into its own
VALIDATOR_MAP = {"parameter": ParameterValidator}
# The spec's parameters, by id, with the validator of each: as many entries as the spec has parameters.
_schema_validators: dict[int, tuple[dict, Draft4Validator]] = {}


def _schema_validator(param: dict) -> Draft4Validator:
    entry = _schema_validators.get(id(param))
    if entry is None or entry[0] is not param:
        schema = param.get("schema", param)
        entry = _schema_validators[id(param)] = (
            param,
            Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER),
        )
    return entry[1]


class PathParameterDecorator(SyncParameterDecorator):
    """connexion's parameter decorator, for a handler whose arguments are exactly its route's path variables.

    connexion's own works out query, body, form and file arguments on every request: about 18 % of the work
    of a list request. Such a handler takes none of them, and Flask's URL converters have already made its
    path variables (an int for an integer parameter; the request validation has checked them), so they go
    to it as they are.
    """

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(request):
            return function(**request.view_args)

        return wrapper


class PathParameterFlaskDecorator(FlaskDecorator):
    @property
    def _parameter_decorator_cls(self):
        return PathParameterDecorator


def _takes_only_path_variables(flask_app, endpoint: str, view: FlaskOperation) -> bool:
    path_variables = {name for rule in flask_app.url_map.iter_rules(endpoint) for name in rule.arguments}
    return set(inspect.signature(view._fn).parameters) == path_variables


def _decorated_once(view: FlaskOperation, path_only: bool):
    """What FlaskOperation.__call__ does per request, with the decorator and URI parser built once."""
    decorator_class = PathParameterFlaskDecorator if path_only else FlaskDecorator
    decorator = decorator_class(pythonic_params=view.pythonic_params, jsonifier=view.jsonifier)
    decorated = decorator.decorate(view._fn)

    @functools.wraps(view._fn)
    def run(*_args, **_kwargs):
        # The parser needs the request's operation (a context variable), so it is built on the first call.
        if run.uri_parser is None:
            run.uri_parser = decorator.uri_parser
        return decorated(decorator.framework.get_request(uri_parser=run.uri_parser))

    run.uri_parser = None
    return run


def _unsupported(app) -> str | None:
    for package, tested in TESTED.items():
        if not version(package).startswith(tested):
            return f"{package} {version(package)} is not the tested {tested}x"
    if not isinstance(getattr(getattr(app, "_middleware_app", None), "asgi_app", None), a2wsgi.WSGIMiddleware):
        return "connexion's FlaskApp no longer runs Flask through a2wsgi.WSGIMiddleware"
    views = [view for view in app.app.view_functions.values() if isinstance(view, FlaskOperation)]
    names = ("_fn", "operation_id", "pythonic_params", "jsonifier")
    if not views or not all(hasattr(view, name) for view in views for name in names):
        return f"connexion's FlaskOperation no longer keeps {', '.join(names)}"
    inline_views = [view for view in views if _spec_operation_id(view) in INLINE_OPERATIONS]
    missing = INLINE_OPERATIONS - {_spec_operation_id(view) for view in inline_views}
    if missing:
        return f"the spec has no operation {', '.join(sorted(missing))}"
    if any(inspect.iscoroutinefunction(view._fn) for view in inline_views):
        return "an inline operation's handler is async: connexion's async_to_sync cannot run on the event loop"
    if not all(callable(getattr(owner, name, None)) for owner, name in REQUIRED_FUNCTIONS):
        return "FlaskDecorator.decorate or a2wsgi.wsgi.build_environ is gone"
    if not all(isinstance(getattr(owner, name, None), property) for owner, name in REQUIRED_PROPERTIES):
        return "FlaskDecorator._parameter_decorator_cls is gone"
    return None


def _spec_operation_id(view: FlaskOperation) -> str:
    # connexion names an operation `controller.operationId`: the spec's router controller, then its id.
    return view.operation_id.rpartition(".")[2]


def _build_views(middleware) -> None:
    # connexion registers the API's Flask views when it builds its middleware stack, on the first call;
    # built now, they can be checked and decorated at start-up.
    if getattr(middleware, "middleware_stack", False) is None:
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()


def _use_threads_for_a_while() -> None:
    global _threads_until
    _threads_until = time.monotonic() + float(RETRY_AFTER_SECONDS)


async def _read_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body
