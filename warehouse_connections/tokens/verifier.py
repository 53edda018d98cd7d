"""What makes a bearer token valid, checked by PyJWT: the signature by a key of the issuer's set, its algorithm,
issuer, audience and times. Nothing here parses or checks a token by hand."""

import hashlib
import time
from collections.abc import Callable

import jwt
from jwt import exceptions as errors

from warehouse_connections.settings import JwtSettings
from warehouse_connections.tokens.errors import InvalidToken
from warehouse_connections.tokens.key_set import FileSource, Keys, KeySet, UrlSource

# Refused before it is parsed: no issuer's token is near this, and parsing costs.
MAX_TOKEN_BYTES = 8 * 1024
# Clock skew allowed between the issuer and us on exp, nbf and iat (RFC 7519 allows "a few minutes"; 60 s at most).
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]

# The first that matches describes the error; subclasses before their bases.
REASONS = (
    (errors.ExpiredSignatureError, "The token has expired."),
    (errors.ImmatureSignatureError, "The token is not valid yet."),
    (errors.InvalidIssuerError, "The token's issuer is not accepted."),
    (errors.InvalidAudienceError, "The token's audience is not accepted."),
    (errors.InvalidSignatureError, "The token's signature does not verify."),
    (errors.InvalidAlgorithmError, "The token's algorithm does not match its key."),
    (errors.InvalidIssuedAtError, "The token's 'iat' is not a time."),
    (errors.InvalidSubjectError, "The token's 'sub' is not a string."),
    (errors.DecodeError, "The token is not a well-formed JWT."),
)


class TokenVerifier:
    """Checks tokens, and remembers the ones it accepted until they expire.

    A dashboard sends the same token with every call of a session, and checking one costs more than the rest
    of a list request; a remembered token is one dictionary look-up. A token is remembered with the key set
    that verified it: once the set changes (a refresh, a rotation), each is checked afresh.
    """

    # Bounds the memory; beyond it the oldest entry goes.
    MAX_REMEMBERED = 10_000

    def __init__(self, settings: JwtSettings, key_set: KeySet, now: Callable[[], float] = time.time):
        self.settings, self.key_set, self.now = settings, key_set, now
        # By the token's SHA-256: (the key set that verified it, its claims, until when it is valid).
        self._accepted: dict[bytes, tuple[Keys, dict, float]] = {}

    @classmethod
    def from_settings(cls, settings: JwtSettings, clock: Callable[[], float] = time.monotonic) -> "TokenVerifier":
        """The verifier, with the file's keys loaded (JwksError if they cannot be) or the URL's being fetched."""
        if settings.jwks_file is not None:
            key_set = KeySet(FileSource(settings.jwks_file), settings.algorithms, clock)
            key_set.load()
        else:
            key_set = KeySet(UrlSource(settings.jwks_url), settings.algorithms, clock)
            key_set.prefetch()
        return cls(settings, key_set)

    async def claims(self, token: str) -> dict:
        """The token's claims once it is valid; raises InvalidToken, or KeysUnavailable when there are no keys yet."""
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken(f"The token is longer than {MAX_TOKEN_BYTES} bytes.")
        digest = hashlib.sha256(token.encode()).digest()
        accepted = self._accepted.get(digest)
        if accepted is not None and accepted[0] is self.key_set.keys and self.now() < accepted[2]:
            self.key_set.refresh_if_expired()
            return accepted[1]
        keys, claims = await self._verified(token)
        self._remember(digest, keys, claims)
        return claims

    def _remember(self, digest: bytes, keys: Keys, claims: dict) -> None:
        if len(self._accepted) >= self.MAX_REMEMBERED:
            del self._accepted[next(iter(self._accepted))]
        # Valid until jwt.decode would call it expired (it takes any exp int() takes); nbf and iat, in the past
        # now, only get more so.
        self._accepted[digest] = (keys, claims, int(claims["exp"]) + LEEWAY_SECONDS)

    async def _verified(self, token: str) -> tuple[Keys, dict]:
        """The key set that verified the token, and its claims."""
        kid = self._kid(token)
        keys, key = await self.key_set.key_for(kid)
        if key is None:
            raise InvalidToken("The token's key is not in the issuer's key set.")
        try:
            return keys, jwt.decode(
                token,
                key,
                # The key's own algorithm, if allowed: a token cannot choose how its signature is checked.
                algorithms=[key.algorithm_name],
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except errors.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token has no '{error.claim}' claim.") from None
        except errors.PyJWTError as error:
            raise InvalidToken(_reason(error)) from None

    def _kid(self, token: str) -> str | None:
        try:
            # The header segment alone: PyJWT checks every segment's encoding (~80 µs a token), and jwt.decode
            # checks them all again.
            header = jwt.get_unverified_header(f"{token.partition('.')[0]}..")
        except errors.PyJWTError:
            raise InvalidToken("The token is not a well-formed JWT.") from None
        # Checked again by jwt.decode against the key; refused here, before any key is looked up.
        if header.get("alg") not in self.settings.algorithms:
            raise InvalidToken("The token's algorithm is not accepted.")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("The token's 'kid' is not a string.")
        return kid


def _reason(error: errors.PyJWTError) -> str:
    return next((reason for kind, reason in REASONS if isinstance(error, kind)), "The token is not valid.")
