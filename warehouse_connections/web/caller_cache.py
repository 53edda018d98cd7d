"""Which organisation an API key belongs to, remembered for a few seconds by each app."""

import time
from collections import OrderedDict

from models.api_key import ActiveKey


class CallerCache:
    """Recently seen keys (by their hash) and who they belong to, for `seconds`.

    Each dashboard page load is one API call; without this, each is two database round trips. The price:
    a revoked key keeps working in a worker for up to `seconds` (WC_API_KEY_CACHE_SECONDS).
    Only the event loop's thread touches it.
    """

    # Bounds the memory: beyond it the least recently stored key goes.
    MAX_ENTRIES = 10_000

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._entries: OrderedDict[str, tuple[float, ActiveKey | None]] = OrderedDict()

    def get(self, digest: str) -> ActiveKey | None | bool:
        """The caller (None: no such key), or False when not cached."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= time.monotonic():
            return False
        return entry[1]

    def put(self, digest: str, caller: ActiveKey | None) -> None:
        self._entries[digest] = (time.monotonic() + self.seconds, caller)
        self._entries.move_to_end(digest)
        if len(self._entries) > self.MAX_ENTRIES:
            self._entries.popitem(last=False)
