"""Who is calling, and may they touch this organisation: the spec's `ApiKey` scheme."""

import time
from collections import OrderedDict

from connexion.exceptions import ProblemException, Unauthorized

from handlers import inline
from models import ApiKey, database
from models.api_key import ActiveKey, hash_key

SCHEME = "api-key"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CallerCache:
    """Recently seen keys (by their hash) and who they belong to, for `seconds`.

    Each dashboard page load is one API call; without this, each is two database round trips. The price:
    a revoked key keeps working in a worker for up to `seconds` (WC_API_KEY_CACHE_SECONDS).
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


# Set by the app factory from the settings; only the event loop's thread touches it.
callers = CallerCache(seconds=0)


async def authenticate(apikey: str, request) -> dict:
    """Resolve `Authorization: Api-Key <key>` to its organisation, or raise 401/403.

    Runs on connexion's event loop.
    """
    scheme, _, key = apikey.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != SCHEME or not key:
        raise Unauthorized(detail="The Authorization header must be 'Api-Key <key>'.")
    digest = hash_key(key)
    caller = callers.get(digest)
    if caller is False:
        # On the event loop for the inline reads (handlers.inline), in a worker thread otherwise.
        caller = await inline.call(request.scope, _find_caller, key)
        callers.put(digest, caller)
    if caller is None:
        raise Unauthorized(detail="The API key is unknown or revoked.")
    _authorise(caller, request)
    return {"sub": caller.prefix, "organisation_id": caller.organisation_id, "read_only": caller.read_only}


def _find_caller(key: str) -> ActiveKey | None:
    with database.connection_context():
        return ApiKey.find_active(key)


def _authorise(caller: ActiveKey, request) -> None:
    # The router has already matched the path and converted organisation_pk to an int.
    if request.scope["path_params"].get("organisation_pk") != caller.organisation_id:
        raise Forbidden("This API key belongs to another organisation.")
    if caller.read_only and request.method not in READ_METHODS:
        raise Forbidden("This API key is read-only.")


class Forbidden(ProblemException):
    def __init__(self, detail: str):
        super().__init__(status=403, title="Forbidden", detail=detail)
