"""A test identity provider: signing keys of each algorithm, its JWKS, and tokens minted by PyJWT."""

import functools
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://id.example.test/"
AUDIENCE = "warehouse-connections"
# A claim value of DROP leaves the claim out of the token.
DROP = object()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: object

    def public_jwk(self) -> dict:
        algorithm = jwt.algorithms.RSAAlgorithm if self.algorithm == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@functools.cache
def _private_key(algorithm: str, name: str):
    # One key per (algorithm, name) for the session: RSA keys are slow to make.
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def signing_key(algorithm: str, name: str = "current") -> SigningKey:
    return SigningKey(f"{name}-{algorithm.lower()}", algorithm, _private_key(algorithm, name))


class Issuer:
    def __init__(self):
        self.rsa, self.ec = signing_key("RS256"), signing_key("ES256")
        self.published = [self.rsa, self.ec]

    def jwks(self) -> dict:
        return {"keys": [key.public_jwk() for key in self.published]}

    def rotate(self) -> SigningKey:
        """The provider publishes a new RSA key (and drops the old one); tokens are signed with it."""
        self.rsa = signing_key("RS256", f"rotated-{uuid.uuid4().hex[:6]}")
        self.published = [self.rsa, self.ec]
        return self.rsa

    def claims(self, organisation_id: int, role: str = "admin", **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-42",
            "iat": now,
            "exp": now + 600,
            "organisations": {str(organisation_id): role},
            **overrides,
        }
        return {name: value for name, value in claims.items() if value is not DROP}

    def token(self, claims: dict, key: SigningKey | None = None, **headers) -> str:
        key = key or self.rsa
        return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, **headers})

    def admin_token(self, organisation_id: int, key: SigningKey | None = None) -> str:
        return self.token(self.claims(organisation_id), key)
