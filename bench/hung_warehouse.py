"""A Snowflake account that hangs (a loopback port that accepts and never answers), and a burst of connection tests."""

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass

from servers import DETAIL_PATH

TEST_PATH = DETAIL_PATH + "test/"


class SilentListener:
    """A loopback port that refuses connections until listen(), then accepts them and never sends a byte.

    Refused, a test fails at once (it warms the service's test path); listening, the connector's login waits out its
    timeout.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))  # bound, not listening: a connection to it is refused
        self._socket.settimeout(0.1)  # the accept loop looks at _stopped this often
        self._accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    @property
    def accepted(self) -> int:
        return len(self._accepted)

    def listen(self) -> None:
        self._socket.listen(128)
        self._thread.start()

    def __enter__(self) -> "SilentListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for connection in [*self._accepted, self._socket]:
            connection.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(TimeoutError):
                connection, _ = self._socket.accept()
                self._accepted.append(connection)  # held open, never read or written


@dataclass(frozen=True)
class Target:
    """A connection to test: its organisation, that organisation's key, and what the emulator must know of it."""

    organisation: int
    key: str
    connection_id: str
    account_identifier: str
    user: str
    public_key: str

    @property
    def path(self) -> str:
        return TEST_PATH.format(org=self.organisation, connection=self.connection_id)


@dataclass
class TestCall:
    """One POST …/test/: its status (None while it has no answer) and seconds from sending to the answer."""

    organisation: int
    status: int | None = None
    seconds: float | None = None
    retry_after: str | None = None
    body: bytes = b""
    error: str | None = None

    def record(self) -> dict:
        return {
            "organisation": self.organisation,
            "status": self.status,
            "ms": round(self.seconds * 1000, 2) if self.seconds is not None else None,
            "retry_after": self.retry_after,
            "error": self.error,
        }


def post_test(port: int, target: Target, timeout: float, ready: threading.Barrier | None = None) -> TestCall:
    """POST …/test/ on a connection of its own, timed from sending the request to reading the whole answer."""
    call = TestCall(target.organisation)
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        client.connect()  # before the clock starts: the time counted is the service's, not the TCP handshake's
        if ready is not None:
            ready.wait(timeout=10)
        started = time.perf_counter()
        client.request("POST", target.path, headers={"Authorization": f"Api-Key {target.key}", "Content-Length": "0"})
        response = client.getresponse()
        call.body = response.read()
        call.seconds = time.perf_counter() - started
        call.retry_after = response.getheader("Retry-After")
        call.status = response.status
    except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
        call.error = f"{type(error).__name__}: {error}"
    finally:
        client.close()
    return call


class TestBurst:
    """POST …/test/ on every target at once, each from a thread and a connection of its own."""

    def __init__(self, port: int, targets: list[Target], timeout: float):
        self.port, self.targets, self.timeout = port, targets, timeout
        self.calls: list[TestCall | None] = [None] * len(targets)
        self._ready = threading.Barrier(len(targets))
        self._threads = [
            threading.Thread(target=self._call, args=(n,), daemon=True, name=f"test-{target.organisation}")
            for n, target in enumerate(targets)
        ]

    def fire(self) -> "TestBurst":
        for thread in self._threads:
            thread.start()
        return self

    def wait_for_answers(self, count: int, seconds: float) -> bool:
        """Whether `count` calls have an answer (or an error) within `seconds`."""
        deadline = time.perf_counter() + seconds
        while len(self.answered()) < count and time.perf_counter() < deadline:
            time.sleep(0.01)
        return len(self.answered()) >= count

    def answered(self) -> list[TestCall]:
        return [call for call in self.calls if call is not None]

    def pending(self) -> int:
        return self.calls.count(None)

    def join(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.perf_counter()))

    def _call(self, n: int) -> None:
        self.calls[n] = post_test(self.port, self.targets[n], self.timeout, self._ready)
