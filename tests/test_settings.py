"""Settings (warehouse_connections/settings.py): each read and checked at start-up, a bad one named."""

import pytest

from warehouse_connections.settings import Settings, SettingsError


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
