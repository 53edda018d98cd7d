"""Every use of connexion's and a2wsgi's internals, and the one check that they are still there.

Tested with connexion 3.3 and a2wsgi 1.10 (TESTED). What relies on internals:
- `Specification._validate_spec`, skipped while the app adds the API (spec_check_skipped): connexion checks
  the spec against the OpenAPI schema on every start (~8 % of start-up); ours is packaged with the service and
  checked in CI instead (tests/test_spec.py);
- `SwaggerUIMiddleware.__call__`, which API requests skip (SwaggerUIMiddleware below);
- `AbstractSecurityHandler._accepts_kwarg` and `ParameterValidator.validate_parameter`, overridden to do once
  what connexion does on every request (SECURITY_MAP, VALIDATOR_MAP);
- `ConnexionMiddleware._build_middleware_stack()`, called early, so that the API's Flask views exist;
- `FlaskOperation._fn`, `.operation_id`, `.pythonic_params`, `.jsonifier` and `FlaskDecorator.decorate`:
  connexion builds a decorator and decorates the view anew on every request; here each view is decorated once;
- `FlaskDecorator._parameter_decorator_cls` and `WSGIRequest.view_args`: a handler that takes only its route's
  path variables gets them from Flask's URL converters (PathParameterDecorator);
- `FlaskApp._middleware_app.asgi_app`, the a2wsgi `WSGIMiddleware` that runs the Flask app in threads, and
  `a2wsgi.wsgi.build_environ(scope, body)`: the fast path puts its dispatch in that app's place;
- `scope["extensions"][ROUTING_CONTEXT]["operation_id"]`: the operation connexion's router matched.

`incompatibility()` checks them all. The app factory uses none of them unless it finds them all: a missing one
means connexion's stock path for everything, with one warning naming it.
"""

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from importlib.metadata import version

import a2wsgi
import a2wsgi.wsgi
import connexion.security
import connexion.validators
from connexion.apps.flask import FlaskOperation
from connexion.decorators import FlaskDecorator
from connexion.decorators.parameter import SyncParameterDecorator
from connexion.middleware import swagger_ui
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.spec import Specification
from connexion.utils import is_null, is_nullable
from jsonschema import Draft4Validator, ValidationError

TESTED = {"connexion": "3.3.", "a2wsgi": "1.10."}
REQUIRED_FUNCTIONS = ((FlaskDecorator, "decorate"), (a2wsgi.wsgi, "build_environ"))
REQUIRED_PROPERTIES = ((FlaskDecorator, "_parameter_decorator_cls"),)
OPERATION_ATTRIBUTES = ("_fn", "operation_id", "pythonic_params", "jsonifier")
build_environ = a2wsgi.wsgi.build_environ


def incompatibility(app=None, inline_operations: frozenset[str] = frozenset()) -> str | None:
    """Why the internals cannot be used, or None. Without an app, what can be checked before one is built."""
    for package, tested in TESTED.items():
        if not version(package).startswith(tested):
            return f"{package} {version(package)} is not the tested {tested}x"
    if not all(callable(getattr(owner, name, None)) for owner, name in REQUIRED_FUNCTIONS):
        return "FlaskDecorator.decorate or a2wsgi.wsgi.build_environ is gone"
    if not all(isinstance(getattr(owner, name, None), property) for owner, name in REQUIRED_PROPERTIES):
        return "FlaskDecorator._parameter_decorator_cls is gone"
    if not isinstance(Specification.__dict__.get("_validate_spec"), classmethod):
        return "Specification._validate_spec is gone"
    if app is None:
        return None
    if not isinstance(getattr(getattr(app, "_middleware_app", None), "asgi_app", None), a2wsgi.WSGIMiddleware):
        return "connexion's FlaskApp no longer runs Flask through a2wsgi.WSGIMiddleware"
    views = flask_operations(app).values()
    if not views or not all(hasattr(view, name) for view in views for name in OPERATION_ATTRIBUTES):
        return f"connexion's FlaskOperation no longer keeps {', '.join(OPERATION_ATTRIBUTES)}"
    inline_views = [view for view in views if spec_operation_id(view) in inline_operations]
    missing = inline_operations - {spec_operation_id(view) for view in inline_views}
    if missing:
        return f"the spec has no operation {', '.join(sorted(missing))}"
    if any(inspect.iscoroutinefunction(view._fn) for view in inline_views):
        return "an inline operation's handler is async: connexion's async_to_sync cannot run on the event loop"
    return None


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


class SwaggerUIMiddleware(swagger_ui.SwaggerUIMiddleware):
    """connexion's Swagger UI and spec routes, which requests for the API's resources skip.

    connexion matches every request against those routes before passing it on: about 6 % of the work of
    a list request. The docs live at {base}/ui/ and {base}/openapi.json, never under `resources_prefix`,
    so requests there go straight on.
    """

    def __init__(self, app, resources_prefix: str):
        super().__init__(app)
        self.resources_prefix = resources_prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.resources_prefix):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class ApiKeySecurityHandler(connexion.security.ApiKeySecurityHandler):
    # connexion runs inspect.signature twice per request to learn what the security function takes.
    @staticmethod
    @functools.lru_cache(maxsize=32)  # keyed by the security function, of which there are two
    def _accepts_kwarg(func, keyword: str) -> bool:
        return connexion.security.ApiKeySecurityHandler._accepts_kwarg(func, keyword)


class BearerSecurityHandler(connexion.security.BearerSecurityHandler):
    _accepts_kwarg = staticmethod(ApiKeySecurityHandler._accepts_kwarg)


class ParameterValidator(connexion.validators.ParameterValidator):
    # connexion deep-copies each parameter and builds a JSON Schema validator for it on every request.
    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return connexion.validators.ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            _schema_validator(param).validate(value)
        except ValidationError as exception:
            return str(exception)
        return None


SECURITY_MAP = {"apiKey": ApiKeySecurityHandler, "bearer": BearerSecurityHandler}  # connexion merges it into its own
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


def build_views(app) -> None:
    """Register the API's Flask views now, as connexion does when its middleware stack is first called."""
    middleware = app.middleware
    if getattr(middleware, "middleware_stack", False) is None:
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()


def flask_operations(app) -> dict[str, FlaskOperation]:
    """The API's Flask views, by endpoint (after build_views)."""
    return {endpoint: view for endpoint, view in app.app.view_functions.items() if isinstance(view, FlaskOperation)}


def spec_operation_id(view: FlaskOperation) -> str:
    # connexion names an operation `controller.operationId`: the spec's router controller, then its id.
    return view.operation_id.rpartition(".")[2]


def routed_operation_id(scope) -> str | None:
    """connexion's name of the operation its router matched for this request, once it has routed it."""
    return scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")


def decorate_views_once(app) -> None:
    views = app.app.view_functions
    for endpoint, view in flask_operations(app).items():
        views[endpoint] = _decorated_once(view, path_only=_takes_only_path_variables(app.app, endpoint, view))


def replace_threaded_app(app, dispatch: Callable) -> None:
    """Put `dispatch(wsgi_app, threaded)` in the place of the a2wsgi app that runs Flask in threads."""
    app._middleware_app.asgi_app = dispatch(app.app.wsgi_app, app._middleware_app.asgi_app)


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
