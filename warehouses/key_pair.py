"""The RSA key pair a connection authenticates with. The server makes it; customers never send keys."""

import base64
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

MIN_BITS = 2048


@dataclass(frozen=True, repr=False)
class KeyPair:
    # PKCS#8 DER: what the secret store keeps and what the Snowflake connector accepts.
    private_key_der: bytes
    # Base64 of the DER SubjectPublicKeyInfo on one line: what Snowflake's RSA_PUBLIC_KEY takes.
    public_key: str


class UserKey(NamedTuple):
    """A public key and the property of the warehouse user that holds it (Snowflake's RSA_PUBLIC_KEY or _2)."""

    public_key: str
    slot: str


def generate(bits: int) -> KeyPair:
    if bits < MIN_BITS:
        raise ValueError(f"RSA keys must have at least {MIN_BITS} bits, not {bits}")
    # Imported here, not above: a server that only reads never makes a key (these modules are ~6 ms of start-up).
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_key_der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_key_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_key_der, base64.b64encode(public_key_der).decode())


def fingerprint(public_key: str) -> str:
    """The key's fingerprint as Snowflake shows it in DESC USER's RSA_PUBLIC_KEY_FP."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(public_key)).digest()).decode()
