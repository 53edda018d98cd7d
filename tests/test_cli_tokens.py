"""`warehouse-connections tokens dev-issuer` and `tokens mint`: a local issuer of bearer tokens, run as a user runs it.

`serve` with its JWKS, from a browser origin: tests/test_tokens_serve.py.
"""

import json
import stat

import jwt
import pytest

from warehouse_connections.devtools.dev_issuer import AUDIENCE, ISSUER


def exports(stdout: str) -> dict[str, str]:
    return dict(line.removeprefix("export ").split("=", 1) for line in stdout.splitlines())


@pytest.fixture
def tokens(run, tmp_path):
    """Runs `tokens …` with a WC_DATA_DIR of the test's own; `tokens.data_dir` is it."""

    def tokens(*args: str):
        return run("tokens", *args, WC_DATA_DIR=str(tmp_path))

    tokens.data_dir = tmp_path
    return tokens


def test_tokens_dev_issuer__first_run__writes_a_private_key_and_its_jwks_and_prints_the_settings(tokens):
    result = tokens("dev-issuer")

    folder = tokens.data_dir / "dev-issuer"
    assert exports(result.stdout) == {
        "WC_JWT_JWKS_FILE": str(folder / "jwks.json"),
        "WC_JWT_ISSUER": ISSUER,
        "WC_JWT_AUDIENCE": AUDIENCE,
    }
    assert stat.S_IMODE((folder / "signing-key.pem").stat().st_mode) == 0o600
    (key,) = json.loads((folder / "jwks.json").read_text())["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key


def test_tokens_dev_issuer__run_again__keeps_the_key_unless_rotated(tokens):
    jwks_file = tokens.data_dir / "dev-issuer" / "jwks.json"
    tokens("dev-issuer", "--rotate")
    first = jwks_file.read_text()

    tokens("dev-issuer")
    kept = jwks_file.read_text()
    tokens("dev-issuer", "--rotate")

    assert kept == first
    assert json.loads(jwks_file.read_text())["keys"][0]["kid"] != json.loads(first)["keys"][0]["kid"]


def test_tokens_mint__after_dev_issuer__prints_a_token_its_jwks_verifies(tokens, organisation):
    tokens("dev-issuer")
    jwks = jwt.PyJWKSet.from_json((tokens.data_dir / "dev-issuer" / "jwks.json").read_text())

    result = tokens("mint", "--organisation", str(organisation.id), "--role", "user", "--minutes", "5")

    token = result.stdout.strip()
    (key,) = jwks.keys
    claims = jwt.decode(token, key, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE)
    assert jwt.get_unverified_header(token)["kid"] == key.key_id
    assert (claims["sub"], claims["organisations"], claims["exp"] - claims["iat"]) == (
        "dev-user",
        {str(organisation.id): "user"},
        300,
    )
