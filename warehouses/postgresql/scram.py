"""SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in the form PostgreSQL stores in `pg_authid.rolpassword`.

The setup script sets the role's password with `ALTER ROLE … PASSWORD '<verifier>'`: PostgreSQL stores a
verifier as given, so the script logs in the role without ever carrying the password.

SASLprep (RFC 4013) is not implemented: an ASCII password is used as is, which is what SASLprep gives
for it and what PostgreSQL and libpq do for ASCII too. A non-ASCII password raises ValueError, since
SASLprep may map it (NFKC, non-ASCII spaces, characters mapped to nothing) to bytes other than its UTF-8
and a verifier of the raw bytes would then refuse the right password. The passwords we generate are ASCII.
"""

import base64
import hashlib
import hmac
import secrets

SALT_BYTES = 16
DEFAULT_ITERATIONS = 4096


def verifier(password: str, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64; a random 16-byte salt unless given."""
    if not password.isascii():
        raise ValueError("a SCRAM verifier needs an ASCII password: SASLprep of other text is not implemented")
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, not {iterations}")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    salted_password = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    stored_key = hashlib.sha256(_hmac(salted_password, b"Client Key")).digest()
    server_key = _hmac(salted_password, b"Server Key")
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
