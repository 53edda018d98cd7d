"""How a bearer token can fail, apart from PyJWT: importing these loads no JOSE or RSA code, so a service without
WC_JWT_* settings starts without it (the RSA code loads when the first key pair is made)."""

# A failed fetch is tried again no sooner than this; with no set yet, the Retry-After of the 503s meanwhile.
RETRY_AFTER_SECONDS = 5


class InvalidToken(Exception):
    """Why a token is refused, in words safe to answer and log (RFC 6750's error_description)."""


class KeysUnavailable(Exception):
    """No key set has been fetched yet: the caller did nothing wrong (503, not 401)."""


class JwksError(Exception):
    """A key set that could not be had; the message names no secret."""
