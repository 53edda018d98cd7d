"""What SIGTERM does to the requests still running: up to WC_SHUTDOWN_TIMEOUT to finish, then a 503.

uvicorn, on SIGTERM, stops accepting connections, closes the idle ones and waits for the others up to its
graceful-shutdown timeout; then it cancels what still runs and answers each a plain-text 500. So the
connection layer (web/http_protocol.py) starts this app's Shutdown as uvicorn begins, and WC_SHUTDOWN_TIMEOUT
later each request still running is cancelled and answered 503 problem+json, before uvicorn's own timeout
(ANSWER_GRACE_SECONDS later). Only a request that can still be abandoned (infrastructure/abandonment.py) is: one
past its point of no return is about to answer, and gets that grace to do it.
"""

import asyncio

import orjson

from warehouse_connections.infrastructure import abandonment
from warehouse_connections.web.problems import RETRY_AFTER_SECONDS

# Where the connection layer finds the Shutdown: the ASGI lifespan state, which uvicorn hands its protocols.
LIFESPAN_STATE_KEY = "warehouse_connections.shutdown"
# uvicorn's graceful-shutdown timeout is WC_SHUTDOWN_TIMEOUT plus this: time for the answers of requests past
# their point of no return (a write's commit), and the 503s, to go out.
ANSWER_GRACE_SECONDS = 0.5
UNAVAILABLE = orjson.dumps(
    {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The service is stopping and this request did not finish in time; it changed nothing. Try again.",
    }
)


class Shutdown:
    """One app's requests in flight, and when those still running are answered 503."""

    def __init__(self):
        self.in_flight: set[_InFlight] = set()
        self._deadline: asyncio.TimerHandle | None = None

    def begin(self, timeout: float) -> None:
        """Called on the event loop as the server starts shutting down; calls after the first change nothing."""
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().call_later(timeout, self._cut_short)

    def _cut_short(self) -> None:
        for request in list(self.in_flight):
            request.cut_short()


class _InFlight:
    __slots__ = ("work", "task", "was_cut")

    def __init__(self, task: asyncio.Task):
        self.work = abandonment.Work()
        self.task = task
        self.was_cut = False

    def cut_short(self) -> None:
        if self.work.abandon():
            self.was_cut = True
            self.task.cancel()


class ShutdownMiddleware:
    def __init__(self, app, shutdown: Shutdown):
        self.app = app
        self.shutdown = shutdown

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan" and "state" in scope:
            scope["state"][LIFESPAN_STATE_KEY] = self.shutdown
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = _InFlight(asyncio.current_task())
        self.shutdown.in_flight.add(request)
        reset = abandonment.current.set(request.work)
        try:
            await self.app(scope, receive, _once_committed(request.work, send))
        except asyncio.CancelledError:
            if not request.was_cut:
                raise
            await _answer_unavailable(send)
        finally:
            abandonment.current.reset(reset)
            self.shutdown.in_flight.discard(request)


def _once_committed(work: abandonment.Work, send):
    # A response that has begun cannot become a 503; one that comes after the 503 goes nowhere.
    async def send_committed(message):
        if work.commit():
            await send(message)

    return send_committed


async def _answer_unavailable(send) -> None:
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(UNAVAILABLE)).encode()),
        (b"retry-after", RETRY_AFTER_SECONDS.encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": UNAVAILABLE})
