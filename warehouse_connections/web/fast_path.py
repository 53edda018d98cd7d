"""The fast path: short reads run on the event loop instead of a worker thread.

connexion 3.3 hands every Flask view to a2wsgi's 10-thread pool. Under load those threads spend their
time waiting on each other (docs/performance.md), so the operations in INLINE_OPERATIONS, each one
indexed read that never waits on a lock, call the Flask app directly on the event loop instead. Every
other operation (the connection test, writes that may wait on a lock) keeps the thread pool. The app
factory installs it only where connexion_seam finds the internals it needs.

The event loop serves every request, so it must never wait long on the database: there, PostgreSQL's pool
hands out an idle connection or none and the server must answer within 50 ms (models/postgresql.py). A read
that cannot run so runs again in a thread, where the waits are longer but bounded; after a database error,
inline operations go to the threads for a while.

A connection test that the test pool would refuse is refused here too, on the event loop: a burst of them must
not queue for request threads just to hear "busy".
"""

import asyncio
import contextvars
import io
import logging
import time

import orjson

from models.storage import OnEventLoop, WouldWait
from warehouse_connections.infrastructure import metrics
from warehouse_connections.web import connexion_seam
from warehouse_connections.web.problems import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from warehouses.connection_test_pool import ConnectionTestPool, TestsBusy

# One indexed read each; never an operation that may block (the connection test, writes).
INLINE_OPERATIONS = frozenset({"list_connections", "get_connection"})
# The operations of the test pool, whose refusal when it is full needs no thread.
TEST_OPERATIONS = frozenset({"test_connection", "complete_key_rotation"})
# What a call on the event loop returns when it must run in a thread instead.
NOT_ON_EVENT_LOOP = object()
logger = logging.getLogger(__name__)


class FastPath:
    """Which operations of one app run on the event loop, and until when they must not."""

    def __init__(self, tests: ConnectionTestPool):
        self.tests = tests
        # connexion's names (controller.operationId) of the inline operations; empty until installed.
        self.inline_ids: frozenset[str] = frozenset()
        self.test_ids: frozenset[str] = frozenset()
        # After a database error the event loop must not wait on reconnects: inline operations use the
        # threads again until then.
        self.threads_until = 0.0

    def install(self, app) -> None:
        """Put the fast path into a connexion FlaskApp whose internals connexion_seam has checked."""
        views = connexion_seam.flask_operations(app).values()
        self.inline_ids = frozenset(
            view.operation_id for view in views if connexion_seam.spec_operation_id(view) in INLINE_OPERATIONS
        )
        self.test_ids = frozenset(
            view.operation_id for view in views if connexion_seam.spec_operation_id(view) in TEST_OPERATIONS
        )
        connexion_seam.decorate_views_once(app)
        connexion_seam.replace_threaded_app(app, lambda wsgi_app, threaded: InlineDispatch(wsgi_app, threaded, self))

    def refuses_at_once(self, scope) -> bool:
        return self.tests.is_full() and connexion_seam.routed_operation_id(scope) in self.test_ids

    def runs_inline(self, scope) -> bool:
        return connexion_seam.routed_operation_id(scope) in self.inline_ids and time.monotonic() >= self.threads_until

    async def run_blocking(self, scope, function, *args):
        """`function(*args)` on the event loop for an inline operation, else (or if it cannot) in a worker thread."""
        if self.runs_inline(scope):
            result = self.on_event_loop(function, *args)
            if result is not NOT_ON_EVENT_LOOP:
                return result
        return await asyncio.to_thread(function, *args)

    def on_event_loop(self, function, *args):
        """`function(*args)`, or NOT_ON_EVENT_LOOP if the database would keep the event loop waiting."""
        try:
            with OnEventLoop():
                return function(*args)
        except DATABASE_UNAVAILABLE as error:
            self.use_threads_for_a_while(error)
        except WouldWait:
            pass
        return NOT_ON_EVENT_LOOP

    def use_threads_for_a_while(self, error: Exception) -> None:
        self.threads_until = time.monotonic() + float(RETRY_AFTER_SECONDS)
        logger.warning(
            "database error on the event loop, inline operations run in threads for %s s: %s: %s",
            RETRY_AFTER_SECONDS,
            type(error).__name__,
            error,
        )


class InlineDispatch:
    """The ASGI app in connexion's place for the Flask app: inline operations here, the rest to a2wsgi."""

    def __init__(self, wsgi_app, threaded, fast_path: FastPath):
        self.wsgi_app = wsgi_app
        self.threaded = threaded
        self.fast_path = fast_path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.fast_path.refuses_at_once(scope):
            return await _answer_tests_busy(self.fast_path.tests, send)
        if scope["type"] != "http" or not self.fast_path.runs_inline(scope):
            return await self.threaded(scope, receive, send)
        body = await _read_body(receive)
        environ = connexion_seam.build_environ(scope, io.BytesIO(body))
        response = self.fast_path.on_event_loop(self._respond_in_its_own_context, environ)
        if response is NOT_ON_EVENT_LOOP:
            # Once more in a thread: an inline operation is a read, safe to repeat.
            return await self.threaded(scope, _replaying(body, receive), send)
        status, headers, content = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _respond_in_its_own_context(self, environ) -> tuple[int, list, bytes]:
        # What Flask and werkzeug put into context variables stays with this request.
        return contextvars.copy_context().run(self._respond, environ)

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


async def _answer_tests_busy(tests: ConnectionTestPool, send) -> None:
    """The handler's own 503 (web/problems.py), without the thread it would wait for."""
    metrics.CONNECTION_TESTS.labels("refused").inc()
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": str(TestsBusy(tests.limit, tests.retry_after)),
        }
    )
    headers = [(b"content-type", b"application/problem+json"), (b"retry-after", RETRY_AFTER_SECONDS.encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _replaying(body: bytes, receive):
    """An ASGI receive that gives the body read already, then whatever the client sends next."""
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
