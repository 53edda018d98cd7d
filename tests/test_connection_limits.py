"""What a client that sends too much, or too slowly, gets from a real `serve`: over raw sockets.

The connection layer (web/http_protocol.py) answers before any app sees the request; the request guard
(web/guard.py) answers what reaches the app. tests/test_request_bounds.py tests the guard in process.
"""

import json
import socket
import time

import pytest

from tests.problems import problem

# Short enough that a test waits only a moment for each bound.
LIMITS = {"WC_HEADER_TIMEOUT": "1", "WC_BODY_TIMEOUT": "1", "WC_KEEP_ALIVE_TIMEOUT": "1"}
# A bound of 1 s must have acted by then, on a busy machine too.
LATEST = 2.5
HEADERS_TOO_LARGE = problem(
    431, "Request Header Fields Too Large", "The request line and headers are larger than 16384 bytes."
)


@pytest.fixture
def server(start_server) -> tuple[str, int]:
    base_url = start_server(**LIMITS)
    return "127.0.0.1", int(base_url.rsplit(":", 1)[1])


def head(path: str, *lines: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", ""]).encode()


def send(server: tuple[str, int], data: bytes) -> socket.socket:
    sock = socket.create_connection(server)
    sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket, deadline_seconds: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    sock.settimeout(deadline_seconds)
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def read_answer(sock: socket.socket) -> bytes:
    """One answer, whole (by its Content-Length), leaving the connection open."""
    sock.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received or len(received.split(b"\r\n\r\n", 1)[1]) < _content_length(received):
        received += sock.recv(65536)
    return received


def _content_length(received: bytes) -> int:
    head_bytes = received.split(b"\r\n\r\n", 1)[0].lower()
    return int(head_bytes.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])


def seconds_until_cut_off(sock: socket.socket, deadline_seconds: float = 10) -> float:
    """Sends a byte every 0.2 s until the server has closed the connection; how long that took."""
    started = time.monotonic()
    with sock:
        while time.monotonic() - started < deadline_seconds:
            time.sleep(0.2)
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
    raise AssertionError(f"still open after {deadline_seconds} s")


def parse(answer: bytes) -> tuple[str, dict[str, str], dict]:
    """(status line, headers, JSON body) of one HTTP/1.1 answer."""
    head_bytes, body = answer.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head_bytes.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return status_line, headers, json.loads(body)


def test_serve__a_1_mb_header__is_answered_431_by_the_connection_layer_and_closed(server):
    sock = send(server, head("/health", "X-Big: " + "a" * 1_000_000))

    status_line, headers, body = parse(read_until_closed(sock)[0])

    assert status_line == "HTTP/1.1 431 Request Header Fields Too Large"
    assert (headers["content-type"], headers["connection"], len(headers["x-request-id"])) == (
        "application/problem+json",
        "close",
        32,
    )
    assert body == HEADERS_TOO_LARGE


def padded_to(size: int) -> bytes:
    """A GET of /health whose request line and headers are `size` bytes in all."""
    bare = head("/health", "Connection: close", "X-Pad: ")
    return head("/health", "Connection: close", "X-Pad: " + "p" * (size - len(bare)))


@pytest.mark.parametrize(
    ("size", "status_line"), [(16384, "HTTP/1.1 200 OK"), (16385, "HTTP/1.1 431 Request Header Fields Too Large")]
)
def test_serve__request_line_and_headers_at_then_over_16_kib__are_served_then_answered_431(server, size, status_line):
    sock = send(server, padded_to(size))

    assert parse(read_until_closed(sock)[0])[0] == status_line


def test_serve__10_000_headers__are_answered_431_by_the_connection_layer(server):
    sock = send(server, head("/health", *(f"X-Extra-{number}: 1" for number in range(10_000))))

    status_line, _, body = parse(read_until_closed(sock)[0])

    assert (status_line, body) == ("HTTP/1.1 431 Request Header Fields Too Large", HEADERS_TOO_LARGE)


def test_serve__101_small_headers__are_answered_431_by_the_request_guard(server):
    lines = ["X-Request-ID: many-headers", "Connection: close", *(f"X-Extra-{number}: 1" for number in range(99))]
    sock = send(server, head("/health", *lines))

    status_line, headers, body = parse(read_until_closed(sock)[0])

    assert status_line == "HTTP/1.1 431 Request Header Fields Too Large"
    assert headers["x-request-id"] == "many-headers"
    assert body == problem(431, "Request Header Fields Too Large", "The request has more than 100 headers.")


def test_serve__headers_that_stop_arriving__close_the_connection_unanswered(server):
    sock = send(server, head("/health")[:-2])

    received, seconds = read_until_closed(sock)

    assert received == b""
    assert 1 <= seconds <= LATEST


def test_serve__a_connection_that_sends_nothing__is_closed(server):
    # Timed from before the connection exists: the server's clock starts later, never earlier.
    started = time.monotonic()
    sock = socket.create_connection(server)

    received, _ = read_until_closed(sock)

    seconds = time.monotonic() - started
    assert received == b""
    # The event loop's timers count whole milliseconds from the start of its iteration: a hair early at most.
    assert 0.99 <= seconds <= LATEST


def test_serve__an_idle_connection_after_an_answer__is_closed(server):
    # Timed from before the request: the server's idle clock starts once its answer is out, before we read it.
    started = time.monotonic()
    sock = send(server, head("/health"))
    answer = read_answer(sock)

    received, _ = read_until_closed(sock)

    seconds = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received == b""
    assert 0.99 <= seconds <= LATEST


def test_serve__a_body_that_stops_arriving__is_answered_408_and_closed(server, api_key, list_url):
    lines = [f"Authorization: Api-Key {api_key}", "Content-Type: application/json", "Content-Length: 100"]
    sock = send(server, head(list_url, *lines, method="POST") + b'{"type": ')

    answer, seconds = read_until_closed(sock)

    status_line, headers, body = parse(answer)
    assert status_line == "HTTP/1.1 408 Request Timeout"
    assert headers["connection"] == "close"
    assert body == problem(408, "Request Timeout", "The request body did not arrive within 1 seconds.")
    assert 1 <= seconds <= LATEST


def test_serve__a_body_still_trickling_in_after_its_answer__is_cut_off_at_the_deadline(server, list_url):
    lines = ["Content-Type: application/json", "Content-Length: 100"]
    sock = send(server, head(list_url, *lines, method="POST") + b"{")
    answer = read_answer(sock)

    seconds = seconds_until_cut_off(sock)

    assert answer.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert seconds <= LATEST
