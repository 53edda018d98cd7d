"""Key-pair authentication: account locators, key fingerprints and the login JWT check.

The emulator verifies key-pair JWTs the way Snowflake does (RS256 signature against the registered
RSA_PUBLIC_KEY, ``iss`` fingerprint, ``sub``, ``exp``), so a successful connect proves the key
pair authenticates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# The user properties that hold a user's public keys: two, so that keys can rotate.
KEY_SLOTS = ("RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2")
# Snowflake refuses key-pair JWTs whose lifetime exceeds one hour.
MAX_JWT_LIFETIME_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60


def account_locator(account_identifier: str) -> str:
    """The account part of JWT claims: upper case, without a ``.region`` suffix (as the connector does)."""
    return account_identifier.split(".", 1)[0].upper()


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """``SHA256:<b64>`` as in Snowflake's RSA_PUBLIC_KEY_FP and the JWT ``iss`` claim."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def resolve_public_keys(
    resolve_user: Callable[[str, str], dict[str, str]] | None, account: str, user: str
) -> dict[str, rsa.RSAPublicKey]:
    """The keys ``resolve_user`` gives (account locator, USER), by slot."""
    keys_b64 = resolve_user(account, user) if resolve_user else {}
    return {slot: serialization.load_der_public_key(base64.b64decode(key)) for slot, key in keys_b64.items()}


def verify_jwt(
    data: dict[str, Any], find_public_keys: Callable[[str, str], list[rsa.RSAPublicKey]]
) -> tuple[dict[str, Any] | None, bool]:
    """(decoded claims or None, whether the token authenticates the claimed account and user).

    ``data`` is the login request's; ``find_public_keys`` maps (account locator, USER) to the user's keys (up to
    two). As Snowflake does, the token's ``iss`` fingerprint picks the key that must verify it.
    """
    try:
        header_b64, claims_b64, signature_b64 = str(data.get("TOKEN")).split(".")
        header, claims = json.loads(_b64url_decode(header_b64)), json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except ValueError:  # not three segments, bad base64 or bad JSON
        return None, False
    account, user = account_locator(str(data.get("ACCOUNT_NAME"))), str(data.get("LOGIN_NAME")).upper()
    subject = f"{account}.{user}"
    issuer = claims.get("iss")
    public_key = next(
        (key for key in find_public_keys(account, user) if issuer == f"{subject}.{public_key_fingerprint(key)}"), None
    )
    if public_key is None or header.get("alg") != "RS256" or data.get("AUTHENTICATOR") != "SNOWFLAKE_JWT":
        return claims, False
    try:
        public_key.verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:  # signed by a key other than the registered one
        return claims, False
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    return claims, (
        claims.get("sub") == subject
        and claims.get("iss") == f"{subject}.{public_key_fingerprint(public_key)}"
        and isinstance(iat, int)
        and isinstance(exp, int)
        and iat <= now + CLOCK_SKEW_SECONDS
        and now < exp
        and exp - iat <= MAX_JWT_LIFETIME_SECONDS
    )
