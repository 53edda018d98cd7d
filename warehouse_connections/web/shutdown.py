"""What SIGTERM does to the requests still running: up to WC_SHUTDOWN_TIMEOUT to finish, then a 503.

uvicorn, on SIGTERM, stops accepting connections, closes the idle ones and waits for the others up to its
graceful-shutdown timeout; then it cancels what still runs and answers each a plain-text 500. So the
connection layer (web/http_protocol.py) starts this app's Shutdown as uvicorn begins, and WC_SHUTDOWN_TIMEOUT
later each request still running is cancelled and answered 503 problem+json, before uvicorn's own timeout
(ANSWER_GRACE_SECONDS later). Only a request that can still be abandoned (infrastructure/abandonment.py) is: one
past its point of no return is about to answer, and gets that grace to do it.
"""

import asyncio
from collections.abc import Awaitable

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


class _InFlight(abandonment.Work):
    """One request in flight: its work (what the domain checks), its task, and its send, held back once cut short.

    One object per request, and no lock once its answer has begun (Work.commit): it is on every request's path.
    """

    __slots__ = ("task", "send", "was_cut")

    def __init__(self, task: asyncio.Task, send):
        super().__init__()
        self.task = task
        self.send = send
        self.was_cut = False

    def cut_short(self) -> None:
        if self.abandon():
            self.was_cut = True
            self.task.cancel()

    def send_committed(self, message) -> Awaitable[None]:
        # A response that has begun cannot become a 503; one that comes after the 503 goes nowhere. The send's
        # own awaitable is handed back rather than awaited in a coroutine of this one's.
        if self.commit():
            return self.send(message)
        return _sent_nowhere()


class ShutdownMiddleware:
    def __init__(self, app, shutdown: Shutdown):
        self.app = app
        self.shutdown = shutdown

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and "state" in scope:
                scope["state"][LIFESPAN_STATE_KEY] = self.shutdown
            return await self.app(scope, receive, send)
        request = _InFlight(asyncio.current_task(), send)
        in_flight = self.shutdown.in_flight
        in_flight.add(request)
        reset = abandonment.current.set(request)
        try:
            await self.app(scope, receive, request.send_committed)
        except asyncio.CancelledError:
            if not request.was_cut:
                raise
            await _answer_unavailable(send)
        finally:
            abandonment.current.reset(reset)
            in_flight.discard(request)


async def _sent_nowhere() -> None:
    pass


async def _answer_unavailable(send) -> None:
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(UNAVAILABLE)).encode()),
        (b"retry-after", RETRY_AFTER_SECONDS.encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": UNAVAILABLE})
