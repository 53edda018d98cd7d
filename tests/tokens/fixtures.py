"""Bearer-token fixtures; loaded by tests/conftest.py (pytest_plugins)."""

import json
from collections.abc import Iterator

import pytest

from tests.tokens.issuer import AUDIENCE, ISSUER, Issuer
from tests.tokens.jwks_server import JwksServer
from warehouse_connections.settings import JwtSettings
from warehouse_connections.tokens.key_set import FileSource, KeySet, UrlSource
from warehouse_connections.tokens.verifier import TokenVerifier


class Clock:
    """An injectable monotonic clock: tests move time instead of sleeping."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def jwt_settings(**overrides) -> JwtSettings:
    return JwtSettings(**{"issuer": ISSUER, "audience": AUDIENCE, **overrides})


@pytest.fixture
def bearer_tokens(app_state, monkeypatch, issuer, tmp_path) -> Issuer:
    """The session app accepts the issuer's tokens, its keys read from a JWKS file (WC_JWT_JWKS_FILE)."""
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks()))
    settings = jwt_settings(jwks_file=jwks_file)
    key_set = KeySet(FileSource(jwks_file), settings.algorithms)
    key_set.load()
    monkeypatch.setattr(app_state, "tokens", TokenVerifier(settings, key_set))
    monkeypatch.setattr(app_state, "known_organisations", set())
    return issuer


@pytest.fixture
def jwks_server(issuer) -> Iterator[JwksServer]:
    server = JwksServer(issuer.jwks())
    yield server
    server.stop()


@pytest.fixture
def provider_keys(app_state, monkeypatch, jwks_server, clock) -> KeySet:
    """The session app takes the issuer's keys from the loopback provider (WC_JWT_JWKS_URL), on the test's clock.

    Nothing is fetched until the first bearer call."""
    settings = jwt_settings(jwks_url=jwks_server.url)
    key_set = KeySet(UrlSource(jwks_server.url), settings.algorithms, clock)
    monkeypatch.setattr(app_state, "tokens", TokenVerifier(settings, key_set))
    monkeypatch.setattr(app_state, "known_organisations", set())
    return key_set


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def exports(stdout: str) -> dict[str, str]:
    """`export NAME=value` lines (what `tokens dev-issuer` prints) as a dict."""
    return dict(line.removeprefix("export ").split("=", 1) for line in stdout.splitlines())


@pytest.fixture
def dev_issuer(run, tmp_path) -> dict[str, str]:
    """The environment that serves with a dev issuer of the test's own (`tokens dev-issuer`), and mints its tokens."""
    return {**exports(run("tokens", "dev-issuer", WC_DATA_DIR=str(tmp_path)).stdout), "WC_DATA_DIR": str(tmp_path)}


@pytest.fixture
def mint(run, dev_issuer):
    """`mint(organisation_id, role)`: a token of the dev issuer, by `tokens mint`."""

    def mint(organisation_id: int, role: str = "admin") -> str:
        return run(
            "tokens", "mint", "--organisation", str(organisation_id), "--role", role, **dev_issuer
        ).stdout.strip()

    return mint
