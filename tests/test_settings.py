"""Settings (warehouse_connections/settings.py): each read and checked at start-up, a bad one named."""

import json

import pytest

from warehouse_connections.settings import JwtSettings, Settings, SettingsError


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WC_MAX_HEADERS", "0", "WC_MAX_HEADERS must be a whole number of at least 1, not '0'"),
        ("WC_MAX_HEADERS", "lots", "WC_MAX_HEADERS must be a whole number of at least 1, not 'lots'"),
        ("WC_BODY_TIMEOUT", "0", "WC_BODY_TIMEOUT must be a whole number of seconds, at least 1, not '0'"),
        ("WC_BODY_TIMEOUT", "1.5", "WC_BODY_TIMEOUT must be a whole number of seconds, at least 1, not '1.5'"),
        ("WC_MAX_HEADER_BYTES", "16", "WC_MAX_HEADER_BYTES must be a whole number of at least 1024, not '16'"),
        ("WC_HEADER_TIMEOUT", "0", "WC_HEADER_TIMEOUT must be a whole number of seconds, at least 1, not '0'"),
        (
            "WC_KEEP_ALIVE_TIMEOUT",
            "-1",
            "WC_KEEP_ALIVE_TIMEOUT must be a whole number of seconds, at least 1, not '-1'",
        ),
    ],
)
def test_settings__bad_request_bound__stops_start_up_naming_it(name, value, message):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})

    assert str(error.value) == message


def test_settings__request_bounds_unset__are_the_documented_defaults():
    settings = Settings.from_env({})

    assert (
        settings.max_headers,
        settings.max_header_bytes,
        settings.header_timeout,
        settings.body_timeout,
        settings.keep_alive_timeout,
    ) == (100, 16384, 10, 10, 5)


def test_settings__connect_page_frame_ancestors_unset__is_none():
    assert Settings.from_env({}).connect_page_frame_ancestors == ("'none'",)


def test_settings__connect_page_frame_ancestors__takes_self_and_origins():
    settings = Settings.from_env(
        {"WC_CONNECT_PAGE_FRAME_ANCESTORS": "'self'  https://app.example.com http://*.test:8080"}
    )

    assert settings.connect_page_frame_ancestors == ("'self'", "https://app.example.com", "http://*.test:8080")


@pytest.mark.parametrize(
    "value",
    ["*", "'none' https://app.example.com", "https://app.example.com/path", "app.example.com", "'unsafe-inline'"],
)
def test_settings__bad_connect_page_frame_ancestors__stops_start_up_naming_it(value):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"WC_CONNECT_PAGE_FRAME_ANCESTORS": value})

    assert str(error.value) == (
        "WC_CONNECT_PAGE_FRAME_ANCESTORS must be 'none', or space-separated 'self' and http(s)://host[:port] "
        f"origins, not {value!r}"
    )


def test_settings__no_jwks__bearer_tokens_off():
    assert Settings.from_env({}).jwt is None


def test_settings__jwks_url_with_issuer_and_audience__defaults_the_rest():
    settings = Settings.from_env(
        {
            "WC_JWT_JWKS_URL": "https://id.example.com/.well-known/jwks.json",
            "WC_JWT_ISSUER": "https://id.example.com/",
            "WC_JWT_AUDIENCE": "warehouse-connections",
        }
    )

    assert settings.jwt == JwtSettings(
        issuer="https://id.example.com/",
        audience="warehouse-connections",
        jwks_url="https://id.example.com/.well-known/jwks.json",
        algorithms=("RS256", "ES256"),
        organisations_claim="organisations",
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/jwks.json", "http://localhost/jwks", "http://[::1]:80/jwks"])
def test_settings__plain_http_jwks_url_to_loopback__is_accepted(url):
    settings = Settings.from_env({"WC_JWT_JWKS_URL": url, "WC_JWT_ISSUER": "i", "WC_JWT_AUDIENCE": "a"})

    assert settings.jwt.jwks_url == url


JWKS_URL = {"WC_JWT_JWKS_URL": "https://id.example.com/jwks", "WC_JWT_ISSUER": "i", "WC_JWT_AUDIENCE": "a"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {**JWKS_URL, "WC_JWT_JWKS_URL": "http://id.example.com/jwks"},
            "WC_JWT_JWKS_URL must be https (plain http only to a loopback address), not 'http://id.example.com/jwks'",
        ),
        (
            {**JWKS_URL, "WC_JWT_JWKS_URL": "ftp://id.example.com/jwks"},
            "WC_JWT_JWKS_URL must be an https:// URL, not 'ftp://id.example.com/jwks'",
        ),
        (
            {**JWKS_URL, "WC_JWT_JWKS_URL": "https://id.example.com:port/jwks"},
            "WC_JWT_JWKS_URL must be an https:// URL, not 'https://id.example.com:port/jwks'",
        ),
        ({**JWKS_URL, "WC_JWT_ISSUER": ""}, "WC_JWT_ISSUER is required with WC_JWT_JWKS_URL or WC_JWT_JWKS_FILE"),
        ({**JWKS_URL, "WC_JWT_AUDIENCE": " "}, "WC_JWT_AUDIENCE is required with WC_JWT_JWKS_URL or WC_JWT_JWKS_FILE"),
        (
            {**JWKS_URL, "WC_JWT_JWKS_FILE": "/etc/jwks.json"},
            "WC_JWT_JWKS_URL and WC_JWT_JWKS_FILE are both set; set one",
        ),
        ({"WC_JWT_AUDIENCE": "a"}, "WC_JWT_AUDIENCE is set but neither WC_JWT_JWKS_URL nor WC_JWT_JWKS_FILE is"),
        *(
            (
                {**JWKS_URL, "WC_JWT_ALGORITHMS": value},
                "WC_JWT_ALGORITHMS may name only RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA "
                f"(never none or HS*), not {refused!r}",
            )
            for value, refused in [
                ("none", "none"),
                ("RS256,HS256", "HS256"),
                ("HS512", "HS512"),
                ("rs256", "rs256"),
                (",", ","),
            ]
        ),
        (
            {**JWKS_URL, "WC_JWT_JWKS_URL": "", "WC_JWT_JWKS_FILE": "/nonexistent/jwks.json"},
            "WC_JWT_JWKS_FILE: cannot read /nonexistent/jwks.json: No such file or directory",
        ),
    ],
)
def test_settings__bad_jwt_setting__stops_start_up_naming_it(environ, message):
    with pytest.raises(SettingsError) as error:
        Settings.from_env(environ)

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "the JWKS is not JSON"),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "the JWKS has no signing key for ES256"),
    ],
)
def test_settings__jwks_file_without_a_usable_key__stops_start_up_naming_it(tmp_path, document, message):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(document)

    with pytest.raises(SettingsError) as error:
        Settings.from_env(
            {
                "WC_JWT_JWKS_FILE": str(jwks_file),
                "WC_JWT_ISSUER": "i",
                "WC_JWT_AUDIENCE": "a",
                "WC_JWT_ALGORITHMS": "ES256",
            }
        )

    assert str(error.value) == f"WC_JWT_JWKS_FILE: {message}"


def test_settings__jwks_file_of_the_issuer__is_accepted(tmp_path, issuer):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks()))

    settings = Settings.from_env(
        {
            "WC_JWT_JWKS_FILE": str(jwks_file),
            "WC_JWT_ISSUER": "i",
            "WC_JWT_AUDIENCE": "a",
            "WC_JWT_ALGORITHMS": " ES256 , RS256 ",
            "WC_JWT_ORGANISATIONS_CLAIM": "https://platform.example.com/organisations",
        }
    )

    assert (settings.jwt.jwks_file, settings.jwt.algorithms, settings.jwt.organisations_claim) == (
        jwks_file,
        ("ES256", "RS256"),
        "https://platform.example.com/organisations",
    )
