"""The issuer's signing keys, a JWKS from a URL or a file, kept in memory and fresh.

A request never waits on the provider while the cached set is valid: an expired set goes on working while a
thread fetches the next one. A request waits on a fetch only when no set has ever been fetched, or when its
token names a key the set does not have (the provider may have rotated), and then at most once every
UNKNOWN_KID_REFRESH_SECONDS, so that random kids cannot make us hammer the provider. Fetches run in threads:
the security functions run on the event loop, which a 3 s wait would stall.
"""

import asyncio
import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from jwt import PyJWK, PyJWTError

from warehouse_connections.infrastructure import metrics
from warehouse_connections.tokens.errors import RETRY_AFTER_SECONDS, JwksError, KeysUnavailable

FETCH_TIMEOUT_SECONDS = 3
DEFAULT_MAX_AGE_SECONDS = 600
# A provider's max-age is kept within these bounds: 0 would fetch on every request, a year never again.
MAX_AGE_BOUNDS = (30, 24 * 3600)
UNKNOWN_KID_REFRESH_SECONDS = 30
MAX_JWKS_BYTES = 1024 * 1024
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Keys:
    by_kid: dict[str | None, PyJWK]
    expires_at: float

    def find(self, kid: str | None) -> PyJWK | None:
        key = self.by_kid.get(kid)
        # A set of one key may leave out its kid, and a token for it may too.
        if key is None and len(self.by_kid) == 1:
            ((only_kid, only_key),) = self.by_kid.items()
            if only_kid is None or kid is None:
                return only_key
        return key


def parse_jwks(document: bytes, algorithms: tuple[str, ...]) -> dict[str | None, PyJWK]:
    """The set's signing keys of the allowed algorithms; keys of other kinds are skipped (RFC 7517, 5)."""
    try:
        jwks = json.loads(document)
    except ValueError:
        raise JwksError("the JWKS is not JSON") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JwksError("the JWKS has no 'keys' list")
    keys = {}
    for jwk in jwks["keys"]:
        key = _signing_key(jwk)
        if key is not None and key.algorithm_name in algorithms:
            keys[jwk.get("kid")] = key
    if not keys:
        raise JwksError(f"the JWKS has no signing key for {', '.join(algorithms)}")
    return keys


def _signing_key(jwk) -> PyJWK | None:
    # Never a symmetric key: whoever can read the set could sign with it.
    if not isinstance(jwk, dict) or jwk.get("kty") == "oct" or jwk.get("use", "sig") != "sig":
        return None
    try:
        return PyJWK(jwk)
    except (PyJWTError, ValueError, TypeError, KeyError):
        return None


def max_age(cache_control: str | None) -> int:
    match = MAX_AGE.search(cache_control or "")
    if match is None:
        return DEFAULT_MAX_AGE_SECONDS
    low, high = MAX_AGE_BOUNDS
    return min(max(int(match.group(1)), low), high)


class UrlSource:
    def __init__(self, url: str, timeout: float = FETCH_TIMEOUT_SECONDS):
        self.url, self.timeout = url, timeout

    def read(self) -> tuple[bytes, int]:
        """The document and how long it may be kept, in seconds."""
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                document = response.read(MAX_JWKS_BYTES + 1)
                cache_control = response.headers.get("Cache-Control")
        except (OSError, ValueError) as error:
            raise JwksError(f"cannot fetch {self.url}: {error}") from None
        if len(document) > MAX_JWKS_BYTES:
            raise JwksError(f"{self.url} answered more than {MAX_JWKS_BYTES} bytes")
        return document, max_age(cache_control)

    def __str__(self) -> str:
        return self.url


class FileSource:
    def __init__(self, path: Path):
        self.path = path

    def read(self) -> tuple[bytes, int]:
        try:
            return self.path.read_bytes()[: MAX_JWKS_BYTES + 1], DEFAULT_MAX_AGE_SECONDS
        except OSError as error:
            raise JwksError(f"cannot read {self.path}: {error.strerror}") from None

    def __str__(self) -> str:
        return str(self.path)


class KeySet:
    """One app's copy of the issuer's keys. Its state changes on the event loop and in its fetching thread."""

    def __init__(self, source, algorithms: tuple[str, ...], clock: Callable[[], float] = time.monotonic):
        self.source, self.algorithms, self.clock = source, algorithms, clock
        self.keys: Keys | None = None
        self._fetch: Future | None = None
        self._last_fetch_started = float("-inf")
        self._no_retry_before = float("-inf")
        self.fetch_failures = 0

    def load(self) -> None:
        """Fetch the set now, in this thread (at start-up, for a file); raises JwksError."""
        self.keys = self._read()

    def prefetch(self) -> None:
        """Start fetching the set, so that the first bearer call need not wait for it."""
        self._start_fetch()

    def refresh_if_expired(self) -> None:
        """Start fetching the next set if the one in hand has expired (it goes on answering meanwhile)."""
        keys = self.keys
        if keys is not None and keys.expires_at <= self.clock() and self.clock() >= self._no_retry_before:
            self._start_fetch()

    async def key_for(self, kid: str | None) -> tuple[Keys, PyJWK | None]:
        """The set looked in, and the key in it the token's kid names, or None; raises KeysUnavailable when there
        is no set to look in."""
        keys = self.keys
        if keys is None:
            keys = await self._first_keys()
        else:
            self.refresh_if_expired()
        key = keys.find(kid)
        if key is None and (self._fetching() or self._may_refresh_for_unknown_kid()):
            keys = await self._wait_for(self._start_fetch()) or keys
            key = keys.find(kid)
        return keys, key

    async def _first_keys(self) -> Keys:
        if not self._fetching() and self.clock() < self._no_retry_before:
            raise KeysUnavailable()
        keys = await self._wait_for(self._start_fetch())
        if keys is None:
            raise KeysUnavailable()
        return keys

    def _fetching(self) -> bool:
        return self._fetch is not None and not self._fetch.done()

    def _may_refresh_for_unknown_kid(self) -> bool:
        return self.clock() - self._last_fetch_started >= UNKNOWN_KID_REFRESH_SECONDS

    def _start_fetch(self) -> Future:
        """The fetch in flight, or a new one in a thread of its own; its result is the new Keys, or None."""
        if self._fetching():
            return self._fetch
        self._last_fetch_started = self.clock()
        self._fetch = future = Future()
        threading.Thread(target=self._fetch_into, args=(future,), name="jwks-fetch", daemon=True).start()
        return future

    def _fetch_into(self, future: Future) -> None:
        try:
            self.keys = keys = self._read()
        except Exception as error:  # whatever went wrong, the fetch ends, and the set in hand stays
            error = error if isinstance(error, JwksError) else JwksError(f"{type(error).__name__} from {self.source}")
            keys = None
            self._no_retry_before = self.clock() + RETRY_AFTER_SECONDS
            metrics.JWKS_FETCHES.labels("error").inc()
            state = "keeping the cached set" if self.keys else "no set yet: bearer calls answer 503"
            logger.warning("JWKS fetch failed, %s: %s", state, error)
            self.fetch_failures += 1
        else:
            metrics.JWKS_FETCHES.labels("ok").inc()
        future.set_result(keys)

    def _read(self) -> Keys:
        document, seconds = self.source.read()
        if len(document) > MAX_JWKS_BYTES:
            raise JwksError(f"{self.source} is larger than {MAX_JWKS_BYTES} bytes")
        return Keys(parse_jwks(document, self.algorithms), self.clock() + seconds)

    @staticmethod
    async def _wait_for(fetch: Future) -> Keys | None:
        # The fetch goes on if this request stops waiting: a later one gets its keys.
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fetch)), FETCH_TIMEOUT_SECONDS)
        except TimeoutError:
            return None
