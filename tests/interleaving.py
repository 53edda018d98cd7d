"""Another request landing at an exact moment of this one: when this one first calls a given method."""

import threading

# How long the other request is given to finish before this one goes on; it takes milliseconds, unless it waits
# for a lock this one holds. Below PostgreSQL's statement timeout (1 s), which would end that wait.
HEAD_START_SECONDS = 0.3


class Interleaved:
    """`other()` runs on a thread when `owner.method` is first called; `finished()` waits for its response."""

    def __init__(self, monkeypatch, owner, method: str, other):
        self._monkeypatch = monkeypatch
        self._other = other
        self._thread: threading.Thread | None = None
        self._outcome: dict = {}
        original = getattr(owner, method)

        def other_first(*args, **kwargs):
            self._start_once()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, method, other_first)

    def _start_once(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=lambda: self._outcome.update(response=self._other()))
        self._thread.start()
        self._thread.join(HEAD_START_SECONDS)

    def ends_before(self, owner, method: str) -> None:
        """`owner.method` waits for the other request's end first: on SQLite, whichever writes first would win."""
        original = getattr(owner, method)

        def after_the_other(*args, **kwargs):
            self.finished()
            return original(*args, **kwargs)

        self._monkeypatch.setattr(owner, method, after_the_other)

    def finished(self):
        assert self._thread is not None, "the method was never called"
        self._thread.join(timeout=30)
        return self._outcome["response"]
