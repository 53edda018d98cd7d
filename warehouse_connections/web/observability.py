"""Every request gets an id, a JSON log line and its metrics, in one ASGI middleware outside the rest.

It sits outside connexion's exception handling, so it sees the status each request finally got, and it
puts the request id into 5xx problem bodies so a user's report can be matched to the log line.
"""

import json
import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders

from warehouse_connections.infrastructure import metrics
from warehouse_connections.infrastructure.logs import request_id
from warehouse_connections.web.operations import OperationIndex

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
logger = logging.getLogger("warehouse_connections.requests")


class ObservabilityMiddleware:
    def __init__(self, app, operations: OperationIndex):
        self.app = app
        self.operations = operations
        # By (operation id, status): prometheus_client's labels() checks and locks on every call (~4 µs).
        self._metrics: dict[tuple[str, int], tuple] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        reset = request_id.set(rid)
        # Shared with connexion's security check, which records the caller's token_info in it.
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        operation = self.operations.find(scope["method"], scope["path"])
        started = time.perf_counter()
        response = _Response(send, rid)
        try:
            await self.app(scope, receive, response.send)
        finally:
            self._record(scope, operation, response.status, time.perf_counter() - started, context)
            request_id.reset(reset)

    def _record(self, scope, operation, status: int, seconds: float, context: dict) -> None:
        operation_id = operation.operation_id if operation else "unmatched"
        requests, duration = self._metrics.get((operation_id, status)) or self._metric_children(operation_id, status)
        requests.inc()
        duration.observe(seconds)
        if not logger.isEnabledFor(logging.INFO):
            return
        caller = context.get("token_info") or {}
        # The caller by its `sub` (an API key's prefix, or a bearer token's subject), never by its credential.
        scheme = context.get("auth_scheme")
        logger.info(
            "%s %s %s",
            scope["method"],
            operation.route if operation else "unmatched",
            status,
            extra={
                "method": scope["method"],
                "route": operation.route if operation else None,
                "operation_id": operation.operation_id if operation else None,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "organisation_id": caller.get("organisation_id"),
                "sub": caller.get("sub"),
                "auth_scheme": scheme,
                "api_key_prefix": caller.get("sub") if scheme == "api-key" else None,
            },
        )

    def _metric_children(self, operation_id: str, status: int) -> tuple:
        children = metrics.REQUESTS.labels(operation_id, str(status)), metrics.REQUEST_DURATION.labels(operation_id)
        self._metrics[operation_id, status] = children
        return children


class _Response:
    """Passes the response on with X-Request-ID, holding back a 5xx problem body to add the id to it."""

    def __init__(self, send, rid: str):
        self._send, self._rid = send, rid
        self.status = 500
        self._start = None
        self._body = b""

    async def send(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            MutableHeaders(scope=message).append("X-Request-ID", self._rid)
            if self.status >= 500 and _is_problem(message):
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body += message.get("body", b"")
            if message.get("more_body"):
                return
            body = self._with_request_id(self._body)
            MutableHeaders(scope=self._start)["content-length"] = str(len(body))
            await self._send(self._start)
            message = {"type": "http.response.body", "body": body}
        await self._send(message)

    def _with_request_id(self, body: bytes) -> bytes:
        try:
            return json.dumps({**json.loads(body), "request_id": self._rid}).encode()
        except ValueError:
            return body


def _is_problem(message) -> bool:
    return dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"application/problem+json")
