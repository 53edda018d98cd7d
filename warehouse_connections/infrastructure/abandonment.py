"""A request's work, which the shutdown may abandon until the work reaches its point of no return.

After SIGTERM, a request still running when WC_SHUTDOWN_TIMEOUT is up is answered 503 ("it changed
nothing") by warehouse_connections/web/shutdown.py, while its handler's thread runs on: a thread cannot be
stopped. The 503 stays true because the domain calls `point_of_no_return()` just before each change it makes:
work abandoned before that point stops there (Abandoned); work past it is not abandoned, and the shutdown
waits for its answer instead.
"""

import threading
from contextvars import ContextVar

# One lock for every request's work: each use is a check and a store.
_LOCK = threading.Lock()


class Abandoned(Exception):
    def __init__(self):
        super().__init__("The service is stopping and has already answered this request; it changed nothing.")


class Work:
    """One request's work: abandoned, or past its point of no return, whichever comes first."""

    __slots__ = ("_abandoned", "_committed")

    def __init__(self):
        self._abandoned = False
        self._committed = False

    def commit(self) -> bool:
        """True: from now on the work finishes and is answered. False: it was abandoned first."""
        if self._committed:
            # Once committed it stays so (abandon() changes nothing then): no lock for each later message.
            return True
        with _LOCK:
            if not self._abandoned:
                self._committed = True
            return self._committed

    def abandon(self) -> bool:
        """True: abandoned now, it will change nothing. False: it is past its point of no return."""
        with _LOCK:
            if not self._committed:
                self._abandoned = True
            return self._abandoned


# The work of the request being handled; copied into the thread that runs its handler.
current: ContextVar[Work | None] = ContextVar("work", default=None)


def point_of_no_return() -> None:
    """Called just before a change: raises Abandoned if the request was answered for without it."""
    work = current.get()
    if work is not None and not work.commit():
        raise Abandoned
