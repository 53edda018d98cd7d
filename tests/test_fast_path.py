"""The fast path (web/fast_path.py, on connexion_seam): which operations run on the event loop, and its fallbacks."""

import asyncio
import dataclasses
import inspect
import logging
import threading

import connexion.decorators.parameter
import pytest
from connexion.decorators import FlaskDecorator
from connexion.decorators.main import WSGIDecorator
from connexion.exceptions import InvalidSpecification
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.spec import Specification
from jsonschema import Draft4Validator
from peewee import OperationalError

from handlers import warehouse_connections
from models import ApiKey
from models.storage import WouldWait, waiting_on_event_loop
from tests.problems import assert_database_unavailable
from warehouse_connections.app import create_app
from warehouse_connections.settings import Settings
from warehouse_connections.web import connexion_seam, fast_path
from warehouse_connections.web.app_state import EXTENSION
from warehouse_connections.web.responses import json_response
from warehouses import connections

# The app factory's warning when the fast path is off.
FACTORY_LOGGER = "warehouse_connections.app"


@pytest.fixture
def handler_threads(app_state, monkeypatch) -> list[str]:
    """The name of the thread each list, get or create call ran on; a2wsgi's pool threads are 'WSGI_…'."""
    monkeypatch.setattr(app_state.fast_path, "threads_until", 0.0)  # no database error of an earlier test counts
    names = []
    for name in ("list_for_organisation", "get", "create"):
        original = getattr(connections, name)

        def recorded(*args, _original=original, **kwargs):
            names.append(threading.current_thread().name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(connections, name, recorded)
    return names


def test_inline__list_and_get__run_on_the_event_loop_and_create_in_a_worker_thread(
    client, list_url, created, handler_threads
):
    assert client.get(list_url).status_code == 200
    assert client.get(f"{list_url}{created['id']}/").status_code == 200
    assert client.post(list_url, json={"type": "snowflake", "account_identifier": "xy12345"}).status_code == 409

    assert [name.startswith("WSGI") for name in handler_threads] == [False, False, True]


def test_inline__views__are_decorated_once_not_per_request(client, list_url, created, monkeypatch):
    decorated = []
    monkeypatch.setattr(FlaskDecorator, "decorate", lambda self, function: decorated.append(function))

    for path in ("", f"{created['id']}/"):
        assert client.get(f"{list_url}{path}").status_code == 200
    assert client.patch(f"{list_url}{created['id']}/", json={"warehouse": "OTHER_WH"}).status_code == 200

    assert decorated == []


def test_inline__handlers_taking_only_their_path__get_it_without_connexions_argument_parsing(
    client, organisation, list_url, created, monkeypatch
):
    parsed, received = [], []
    prep_kwargs = connexion.decorators.parameter.prep_kwargs
    monkeypatch.setattr(
        connexion.decorators.parameter,
        "prep_kwargs",
        lambda request, **kwargs: parsed.append(request.method) or prep_kwargs(request, **kwargs),
    )
    for name in ("list_for_organisation", "get"):
        original = getattr(connections, name)
        recorded = lambda *args, _original=original: received.append(args) or _original(*args)  # noqa: E731
        monkeypatch.setattr(connections, name, recorded)
    organisation_pk, connection_id = organisation.id, created["id"]

    assert client.get(list_url).status_code == 200
    assert client.get(f"{list_url}{connection_id}/").status_code == 200
    assert client.patch(f"{list_url}{connection_id}/", json={"warehouse": "OTHER_WH"}).status_code == 200
    assert client.delete(f"{list_url}{connection_id}/").status_code == 204

    assert parsed == ["PATCH"]
    assert received == [(organisation_pk,), (organisation_pk, connection_id)]
    assert [type(value) for args in received for value in args] == [int, int, str]


def test_inline__handler_taking_more_than_its_path__gets_connexions_arguments(settings, api_key, list_url, monkeypatch):
    callers = []

    def list_connections(organisation_pk: int, token_info: dict):
        callers.append(token_info["sub"])
        return json_response([])

    monkeypatch.setattr(warehouse_connections, "list_connections", list_connections)

    app = create_app(settings)
    response = app.test_client(headers={"Authorization": f"Api-Key {api_key}"}).get(list_url)

    assert (response.status_code, response.json()) == (200, [])
    assert callers == [api_key[:12]]


def test_inline__connexion_without_parameter_decorator_class__falls_back_with_a_warning(settings, monkeypatch, caplog):
    monkeypatch.setattr(WSGIDecorator, "_parameter_decorator_cls", None)

    app = create_app(settings)

    assert_fast_path_refused(app, caplog, "FlaskDecorator._parameter_decorator_cls is gone")


def assert_fast_path_refused(app, caplog, reason: str) -> None:
    assert app.app.extensions[EXTENSION].fast_path.inline_ids == frozenset()
    assert [r.getMessage() for r in caplog.records if r.name == FACTORY_LOGGER] == [
        f"fast path off, every request goes through connexion's stock path: {reason}"
    ]


def test_inline__database_error_on_the_event_loop__read_runs_again_in_a_thread_and_reads_stay_there_until_retry_after(
    client, list_url, app_state, handler_threads, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(fast_path.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(app_state.callers, "seconds", 0)  # every request looks its key up
    find_active = ApiKey.find_active.__func__

    def fails_once(cls, key):
        monkeypatch.setattr(ApiKey, "find_active", classmethod(find_active))
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ApiKey, "find_active", classmethod(fails_once))

    assert client.get(list_url).status_code == 200
    assert client.get(list_url).status_code == 200
    now[0] += float(fast_path.RETRY_AFTER_SECONDS)
    assert client.get(list_url).status_code == 200

    assert [name.startswith("WSGI") for name in handler_threads] == [True, True, False]


def test_inline__database_error_on_the_event_loop_and_in_the_thread__returns_503(client, list_url, monkeypatch):
    def fails(cls, key):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ApiKey, "find_active", classmethod(fails))

    assert_database_unavailable(client.get(list_url))


def test_inline__no_idle_database_connection_for_the_event_loop__read_runs_in_a_thread_and_the_next_inline(
    client, list_url, handler_threads, monkeypatch
):
    recorded = connections.list_for_organisation

    def would_wait_once(*args):
        monkeypatch.setattr(connections, "list_for_organisation", recorded)
        raise WouldWait("no idle database connection")

    monkeypatch.setattr(connections, "list_for_organisation", would_wait_once)

    assert (client.get(list_url).status_code, client.get(list_url).status_code) == (200, 200)

    assert [name.startswith("WSGI") for name in handler_threads] == [True, False]


def test_run_blocking__event_loop_would_wait__runs_the_function_in_a_thread_and_keeps_inline_operations_inline(
    app_state, monkeypatch
):
    monkeypatch.setattr(app_state.fast_path, "threads_until", 0.0)
    inline_id = next(iter(app_state.fast_path.inline_ids))
    scope = {"extensions": {ROUTING_CONTEXT: {"operation_id": inline_id}}}
    on_event_loop = []

    def look_up():
        on_event_loop.append(waiting_on_event_loop.get())
        if waiting_on_event_loop.get():
            raise WouldWait("no idle database connection")
        return "found"

    assert asyncio.run(app_state.fast_path.run_blocking(scope, look_up)) == "found"
    assert on_event_loop == [True, False]
    assert app_state.fast_path.threads_until == 0.0


def test_inline__untested_connexion__falls_back_to_threads_with_a_warning(
    settings, organisation, api_key, list_url, handler_threads, monkeypatch, caplog
):
    monkeypatch.setitem(connexion_seam.TESTED, "connexion", "9.9.")

    app = create_app(settings)
    response = app.test_client(headers={"Authorization": f"Api-Key {api_key}"}).get(list_url)

    assert response.status_code == 200
    assert response.json() == []
    assert [name.startswith("WSGI") for name in handler_threads] == [True]
    warnings = [r.getMessage() for r in caplog.records if r.name == FACTORY_LOGGER and r.levelno == logging.WARNING]
    assert warnings == [
        "fast path off, every request goes through connexion's stock path: "
        f"connexion {connexion_seam.version('connexion')} is not the tested 9.9.x"
    ]


def test_inline__requests__build_no_signature_and_no_schema_validator(client, list_url, created, monkeypatch):
    """connexion 3.3 runs inspect.signature twice and builds a validator per parameter on every request."""
    client.get(f"{list_url}{created['id']}/")  # the first request of an operation builds what it needs
    built = []
    monkeypatch.setattr(inspect, "signature", lambda *args, **kwargs: built.append("signature"))
    monkeypatch.setattr(Draft4Validator, "__init__", lambda *args, **kwargs: built.append("validator"))

    for path in ("", f"{created['id']}/"):
        assert client.get(f"{list_url}{path}").status_code == 200

    assert built == []


def test_inline__fast_path_off__serves_through_connexions_threads(settings, api_key, list_url, handler_threads, caplog):
    app = create_app(dataclasses.replace(settings, fast_path=False))
    response = app.test_client(headers={"Authorization": f"Api-Key {api_key}"}).get(list_url)

    assert (response.status_code, response.json()) == (200, [])
    assert [name.startswith("WSGI") for name in handler_threads] == [True]
    assert [r.getMessage() for r in caplog.records if r.name == FACTORY_LOGGER] == [
        "fast path off, every request goes through connexion's stock path: WC_FAST_PATH is off"
    ]


def test_inline__async_handler__is_refused_with_a_warning(settings, monkeypatch, caplog):
    async def list_connections(organisation_pk: int):
        return []

    monkeypatch.setattr(warehouse_connections, "list_connections", list_connections)

    app = create_app(settings)

    assert_fast_path_refused(
        app, caplog, "an inline operation's handler is async: connexion's async_to_sync cannot run on the event loop"
    )


def test_inline__internal_missing_once_built__builds_the_app_without_any_internal(settings, monkeypatch, caplog):
    checked = []
    monkeypatch.setattr(Specification, "_validate_spec", classmethod(lambda cls, spec: checked.append(spec)))
    monkeypatch.setattr(connexion_seam, "OPERATION_ATTRIBUTES", ("_gone",))

    app = create_app(settings)

    assert_fast_path_refused(app, caplog, "connexion's FlaskOperation no longer keeps _gone")
    middlewares = [getattr(m, "func", m) for m in app.middleware.middlewares]
    assert connexion_seam.SwaggerUIMiddleware not in middlewares
    assert len(checked) == 1  # the app that serves took connexion's spec check


# No `info.version`: connexion's check refuses it.
UNCHECKED_SPEC = {"openapi": "3.0.3", "info": {"title": "no version"}, "paths": {}}


def test_inline__spec_check_skipped__takes_an_unchecked_spec_inside_only():
    with connexion_seam.spec_check_skipped():
        taken = Specification.from_dict(UNCHECKED_SPEC)

    assert taken.version == (3, 0, 3)
    with pytest.raises(InvalidSpecification):
        Specification.from_dict(UNCHECKED_SPEC)


def test_inline__spec_check_skipped_not_enabled__checks_the_spec():
    with connexion_seam.spec_check_skipped(enabled=False), pytest.raises(InvalidSpecification):
        Specification.from_dict(UNCHECKED_SPEC)


@pytest.mark.parametrize(("fast_path", "checks"), [(True, 0), (False, 1)])
def test_inline__create_app__checks_the_spec_only_with_the_fast_path_off(settings, monkeypatch, fast_path, checks):
    checked = []
    monkeypatch.setattr(Specification, "_validate_spec", classmethod(lambda cls, spec: checked.append(spec)))

    create_app(dataclasses.replace(settings, fast_path=fast_path))

    assert len(checked) == checks


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("off", False), ("on", True), ("false", False)])
def test_inline__wc_fast_path__is_on_unless_turned_off(value, expected):
    environ = {"WC_FAST_PATH": value} if value is not None else {}

    assert Settings.from_env(environ).fast_path is expected
