"""The probes and metrics (openapi/operations.yaml), answered on the event loop before anything else routes.

Through Flask they would wait for one of a2wsgi's request threads and open a database connection first:
/health would fail while the database is down, and with every thread stuck on hung work so would all three.
Blocking work (/ready's database check) runs on threads of the probes' own, bounded in time.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from connexion.exceptions import ProblemException

from handlers import health

# Enough for a probe in flight while another is stuck on a dead database connection.
PROBE_THREADS = 2


class ProbesMiddleware:
    def __init__(self, app, serve_metrics: bool):
        self.app = app
        self.routes: dict[str, Callable] = {"/health": health.health, "/ready": health.ready}
        if serve_metrics:
            self.routes["/metrics"] = health.metrics
        self._threads = ThreadPoolExecutor(PROBE_THREADS, thread_name_prefix="probe")

    async def __call__(self, scope, receive, send):
        probe = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if probe is None:
            return await self.app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            raise ProblemException(
                status=405,
                title="Method Not Allowed",
                detail="The method is not allowed for the requested URL.",
                headers={"Allow": "GET, HEAD"},
            )
        response = await probe(self._run_blocking)
        await response(scope, receive, send)

    async def _run_blocking(self, function, *args, timeout: float):
        """`function(*args)` on the probes' threads; TimeoutError after `timeout` seconds (it may run on)."""
        return await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(self._threads, function, *args), timeout
        )
