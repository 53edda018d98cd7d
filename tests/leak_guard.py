"""What the suite's leak guard looks for: fragments of every private key it made, in logs and response bodies;
ciphertexts (Fernet tokens), API keys and bearer tokens (JWTs) in logs."""

import base64
import re

from warehouses import key_pair

# Every private key the suite generates, as fragments that would show if one leaked.
generated_private_key_fragments: list[str] = []
response_bodies: list[str] = []


def record_private_key(keys: key_pair.KeyPair) -> key_pair.KeyPair:
    der = keys.private_key_der
    # From the middle of the key: its first bytes are a header every RSA key shares.
    generated_private_key_fragments.extend([base64.b64encode(der).decode()[200:260], der.hex()[400:460]])
    return keys


def record_response_body(response):
    """A Flask after_request hook."""
    if not response.direct_passthrough:
        response_bodies.append(response.get_data(as_text=True))
    return response


# A Fernet token: version byte 0x80 and a timestamp, base64url; ciphertext plus the key file is the secret.
FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_-]{40,}")
API_KEY = re.compile(r"wck_[A-Za-z0-9_-]{32,}")
# A JWT's header and payload: base64url JSON objects, so each starts `eyJ` ('{"').
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def assert_no_secret_in(logged: str) -> None:
    for fragment in generated_private_key_fragments:
        assert fragment not in logged
        assert not any(fragment in body for body in response_bodies)
    assert FERNET_TOKEN.findall(logged) == []
    assert API_KEY.findall(logged) == []
    assert JWT.findall(logged) == []
