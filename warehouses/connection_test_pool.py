"""At most N connection tests at once in a process, on threads of their own: tests never starve the API.

A hung warehouse holds its test for up to the login timeout per step; without a bound, enough of them would
take every request thread. A test beyond the bound is refused at once, never queued behind hung ones.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")


class TestsBusy(Exception):
    def __init__(self, limit: int, retry_after: str):
        super().__init__(
            f"Too many connection tests are running (at most {limit} at once); try again in {retry_after} seconds."
        )


class ConnectionTestPool:
    def __init__(self, limit: int, retry_after: str):
        self.limit = limit
        self.retry_after = retry_after
        self._running = 0
        self._lock = threading.Lock()
        # Threads that live as long as the process: the connector's native core is used from a few long-lived
        # threads, as it was on the request threads before, not from a new thread per test.
        self._threads = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="connection-test")

    def is_full(self) -> bool:
        """Whether a test now would be refused; `run` decides, this lets a caller refuse before any work."""
        return self._running >= self.limit

    def run(self, steps: Callable[[], Result]) -> Result:
        """`steps()` on a thread of the pool, waited for; TestsBusy at once when every thread is taken."""
        with self._lock:
            if self._running >= self.limit:
                raise TestsBusy(self.limit, self.retry_after)
            self._running += 1
        try:
            future = self._threads.submit(steps)
        except BaseException:
            self._release()
            raise
        # The slot frees when the steps end, not when the request stops waiting for them.
        future.add_done_callback(lambda _future: self._release())
        return future.result()

    def _release(self) -> None:
        with self._lock:
            self._running -= 1
