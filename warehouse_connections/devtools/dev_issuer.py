"""A local stand-in for the platform's identity provider, for development and tests: a signing key and its JWKS
under WC_DATA_DIR (`tokens dev-issuer`), and bearer tokens signed by it (`tokens mint`).

The service accepts its tokens only when WC_JWT_JWKS_FILE names its JWKS: it is never on unless asked for.
"""

import base64
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from warehouse_connections.settings import Settings

ISSUER = "warehouse-connections-dev-issuer"
AUDIENCE = "warehouse-connections"
ORGANISATIONS_CLAIM = "organisations"
ALGORITHM = "RS256"
KEY_BITS = 2048


class DevIssuerError(Exception):
    """A problem the user can fix; the message names no secret."""


def directory(settings: Settings) -> Path:
    return settings.data_dir / "dev-issuer"


def create(settings: Settings, rotate: bool = False) -> tuple[Path, bool]:
    """The JWKS file, and whether a new key was made (an existing one is kept unless `rotate`)."""
    folder = directory(settings)
    key_file, jwks_file = folder / "signing-key.pem", folder / "jwks.json"
    if key_file.exists() and jwks_file.exists() and not rotate:
        return jwks_file, False
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_private(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        jwks_file.write_text(json.dumps({"keys": [_public_jwk(key.public_key())]}, indent=2) + "\n")
    except OSError as error:
        raise DevIssuerError(f"cannot write the dev issuer in {folder}: {error.strerror}") from None
    return jwks_file, True


def environment(settings: Settings, jwks_file: Path) -> dict[str, str]:
    """The settings that make `serve` accept this issuer's tokens."""
    return {
        "WC_JWT_JWKS_FILE": str(jwks_file),
        "WC_JWT_ISSUER": _issuer(settings),
        "WC_JWT_AUDIENCE": _audience(settings),
    }


def signing_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The dev issuer's key; loading it checks it, which takes a while: a caller minting many loads it once."""
    key_file = directory(settings) / "signing-key.pem"
    try:
        return serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError):
        raise DevIssuerError(
            f"no dev issuer in {key_file.parent}; run 'warehouse-connections tokens dev-issuer'"
        ) from None


def mint(settings: Settings, organisation: int, role: str, minutes: int, subject: str, key=None) -> str:
    key = key or signing_key(settings)
    now = int(time.time())
    claims = {
        "iss": _issuer(settings),
        "aud": _audience(settings),
        "sub": subject,
        "iat": now,
        "exp": now + minutes * 60,
        _organisations_claim(settings): {str(organisation): role},
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": _kid(key.public_key())})


def _write_private(path: Path, data: bytes) -> None:
    # Made 0600 before a byte is written.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _public_jwk(public_key) -> dict:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": _kid(public_key), "alg": ALGORITHM, "use": "sig"}


def _kid(public_key) -> str:
    # The key's RFC 7638 thumbprint: a new key, a new kid, so the service sees a rotation as one.
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


# With WC_JWT_* set, the tokens are minted for what the service checks; otherwise for the dev issuer's defaults.
def _issuer(settings: Settings) -> str:
    return settings.jwt.issuer if settings.jwt else ISSUER


def _audience(settings: Settings) -> str:
    return settings.jwt.audience if settings.jwt else AUDIENCE


def _organisations_claim(settings: Settings) -> str:
    return settings.jwt.organisations_claim if settings.jwt else ORGANISATIONS_CLAIM


def run_dev_issuer(args, settings: Settings) -> None:
    jwks_file, made = create(settings, rotate=args.rotate)
    print(f"{'wrote a new' if made else 'kept the'} dev issuer key in {jwks_file.parent}; serve with:", file=sys.stderr)
    for name, value in environment(settings, jwks_file).items():
        print(f"export {name}={shlex.quote(value)}")


def run_mint(args, settings: Settings) -> None:
    print(mint(settings, args.organisation, args.role, args.minutes, args.subject))


COMMANDS = {"dev-issuer": run_dev_issuer, "mint": run_mint}
