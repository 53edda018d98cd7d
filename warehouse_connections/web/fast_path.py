"""The fast path: short reads run on the event loop instead of a worker thread.

connexion 3.3 hands every Flask view to a2wsgi's 10-thread pool. Under load those threads spend their
time waiting on each other (docs/performance.md), so the operations in INLINE_OPERATIONS, each one
indexed read that never waits on a lock, call the Flask app directly on the event loop instead. Every
other operation (the connection test, writes that may wait on a lock) keeps the thread pool. The app
factory installs it only where connexion_seam finds the internals it needs.
"""

import asyncio
import contextvars
import io
import time

from warehouse_connections.web import connexion_seam
from warehouse_connections.web.problems import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

# One indexed read each; never an operation that may block (the connection test, writes).
INLINE_OPERATIONS = frozenset({"list_connections", "get_connection"})


class FastPath:
    """Which operations of one app run on the event loop, and until when they must not."""

    def __init__(self):
        # connexion's names (controller.operationId) of the inline operations; empty until installed.
        self.inline_ids: frozenset[str] = frozenset()
        # After a database error the event loop must not wait on reconnects: inline operations use the
        # threads again until then.
        self.threads_until = 0.0

    def install(self, app) -> None:
        """Put the fast path into a connexion FlaskApp whose internals connexion_seam has checked."""
        self.inline_ids = frozenset(
            view.operation_id
            for view in connexion_seam.flask_operations(app).values()
            if connexion_seam.spec_operation_id(view) in INLINE_OPERATIONS
        )
        connexion_seam.decorate_views_once(app)
        connexion_seam.replace_threaded_app(app, lambda wsgi_app, threaded: InlineDispatch(wsgi_app, threaded, self))

    def runs_inline(self, scope) -> bool:
        return connexion_seam.routed_operation_id(scope) in self.inline_ids and time.monotonic() >= self.threads_until

    async def run_blocking(self, scope, function, *args):
        """`function(*args)` on the event loop for an inline operation, else in a worker thread."""
        if not self.runs_inline(scope):
            return await asyncio.to_thread(function, *args)
        try:
            return function(*args)
        except DATABASE_UNAVAILABLE:
            self.use_threads_for_a_while()
            raise

    def use_threads_for_a_while(self) -> None:
        self.threads_until = time.monotonic() + float(RETRY_AFTER_SECONDS)


class InlineDispatch:
    """The ASGI app in connexion's place for the Flask app: inline operations here, the rest to a2wsgi."""

    def __init__(self, wsgi_app, threaded, fast_path: FastPath):
        self.wsgi_app = wsgi_app
        self.threaded = threaded
        self.fast_path = fast_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.fast_path.runs_inline(scope):
            return await self.threaded(scope, receive, send)
        environ = connexion_seam.build_environ(scope, io.BytesIO(await _read_body(receive)))
        try:
            status, headers, body = contextvars.copy_context().run(self._respond, environ)
        except DATABASE_UNAVAILABLE:
            self.fast_path.use_threads_for_a_while()
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


async def _read_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body
