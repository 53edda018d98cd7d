"""The connection layer: uvicorn's httptools protocol, bounding what one client can make the server hold.

uvicorn reads a request's line and headers however large they grow (a 1 MB header, 10,000 headers) and waits
for them however long; a new connection that sends nothing, or a body still trickling in after its answer, holds
its connection for ever. No ASGI app sees a request before its headers are in, so here, before one does:
- a request line and headers over WC_MAX_HEADER_BYTES are answered 431 problem+json as soon as that many bytes
  are in; the connection then takes (and drops) what the client still sends for a moment, so that the client
  reads the answer instead of a reset, and closes;
- a line and headers not all in WC_HEADER_TIMEOUT after their first byte: the connection is closed unanswered,
  as nginx does;
- a new connection gets WC_KEEP_ALIVE_TIMEOUT for its first byte, as uvicorn gives one between requests;
- a body not all in WC_BODY_TIMEOUT after its headers, once its answer is out: the connection is closed (while
  the app waits for the body, the request guard answers 408);
- when uvicorn starts shutting down, the app's Shutdown is started (web/shutdown.py), found in the lifespan state.
It overrides HttpToolsProtocol's callbacks and uses its attributes: uvicorn is pinned in pyproject.toml, and
tests/test_connection_limits.py checks each bound against `serve`.
"""

import functools
import logging
import secrets
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from warehouse_connections.infrastructure.logs import request_id
from warehouse_connections.settings import Settings
from warehouse_connections.web.shutdown import LIFESPAN_STATE_KEY

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    head_bytes: int
    head_seconds: float
    body_seconds: float
    shutdown_seconds: float


def protocol_for(settings: Settings) -> functools.partial:
    """What `uvicorn.run(http=…)` takes: the protocol with its limits (a partial pickles, for the workers)."""
    limits = ConnectionLimits(
        head_bytes=settings.max_header_bytes,
        head_seconds=settings.header_timeout,
        body_seconds=settings.body_timeout,
        shutdown_seconds=settings.shutdown_timeout,
    )
    return functools.partial(ServiceProtocol, limits=limits)


class ServiceProtocol(HttpToolsProtocol):
    def __init__(self, *args, limits: ConnectionLimits, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = limits
        # Between requests, or reading one's line and headers; False from its headers to the end of its body.
        self._in_head = True
        self._head_bytes = 0
        self._head_timer = None
        self._body_deadline = 0.0
        self._refused = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # uvicorn times an idle connection out only after an answer: a new one gets as long for its first byte.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._in_head:
            super().data_received(data)
            return
        room = self.limits.head_bytes - self._head_bytes
        if len(data) > room:
            self._take_head_up_to_the_limit(data, room)
            return
        self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes and self._head_timer is None:
            # A line and headers that did not come in one piece: from now on they have a deadline.
            self._head_timer = self.loop.call_later(self.limits.head_seconds, self._head_timed_out)

    def _take_head_up_to_the_limit(self, data: bytes, room: int) -> None:
        # No more than the limit reaches the parser, which would buffer a header until it ends.
        self._head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._in_head:
            self._refuse_head()
        else:
            self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        self._body_deadline = self.loop.time() + self.limits.body_seconds
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._in_head and not self.transport.is_closing():
            # Answered before its body was all in: the rest may come until the body's deadline, not later.
            self.loop.call_at(self._body_deadline, self._close_if_body_unfinished, self.cycle)

    def shutdown(self) -> None:
        shutdown = self.app_state.get(LIFESPAN_STATE_KEY)
        if shutdown is not None:
            shutdown.begin(self.limits.shutdown_seconds)
        super().shutdown()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._answering():
            # A response is being written for the request before (pipelining): close after it.
            self.cycle.keep_alive = False
        else:
            self.transport.close()

    def _close_if_body_unfinished(self, cycle) -> None:
        # While an app still waits for the body, the request guard answers 408 at the same deadline instead.
        if self.cycle is cycle and cycle.response_complete and not self._in_head:
            self.transport.close()

    def _refuse_head(self) -> None:
        self._stop_head_timer()
        if self._answering():
            # No answer may cut into the one being written for the request before: close after it, read no more.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        self._refused = True
        rid = secrets.token_hex(16)
        reset = request_id.set(rid)
        logger.warning("answered 431: the request line and headers are over %d bytes", self.limits.head_bytes)
        request_id.reset(reset)
        self.transport.write(_too_large(self.limits.head_bytes, rid, self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.limits.head_seconds, self.transport.close)


def _too_large(limit: int, rid: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The 431 as bytes on the wire: no app has seen this request, so none can answer it."""
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Request Header Fields Too Large",
            "status": 431,
            "detail": f"The request line and headers are larger than {limit} bytes.",
        }
    )
    headers = [
        *default_headers,
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode()),
        (b"connection", b"close"),
    ]
    lines = [b"HTTP/1.1 431 Request Header Fields Too Large", *(name + b": " + value for name, value in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
