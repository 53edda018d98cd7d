"""At most N connection tests at once in a process, each on a thread of its own: tests never starve the API.

A hung warehouse holds its test for up to the login timeout per step; without a bound, enough of them would
take every request thread. A test beyond the bound is refused at once, never queued behind hung ones.
"""

import threading
from collections.abc import Callable
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
        self._slots = threading.BoundedSemaphore(limit)

    def run(self, steps: Callable[[], Result]) -> Result:
        """`steps()` on a thread of the pool, waited for; TestsBusy at once when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            raise TestsBusy(self.limit, self.retry_after)
        outcome: list = []
        # A daemon thread, so that a test hung at shutdown cannot hold the process past its timeout; the slot
        # frees when the steps end, not when the request gives up on them.
        worker = threading.Thread(target=self._run, args=(steps, outcome), daemon=True, name="connection-test")
        try:
            worker.start()
        except BaseException:
            self._slots.release()
            raise
        worker.join()
        result, error = outcome
        if error is not None:
            raise error
        return result

    def _run(self, steps: Callable[[], Result], outcome: list) -> None:
        try:
            outcome[:] = [steps(), None]
        except BaseException as error:  # noqa: BLE001 (handed to the waiting request)
            outcome[:] = [None, error]
        finally:
            self._slots.release()
