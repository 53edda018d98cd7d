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
    ],
)
def test_settings__bad_request_bound__stops_start_up_naming_it(name, value, message):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})

    assert str(error.value) == message


def test_settings__request_bounds_unset__are_the_documented_defaults():
    settings = Settings.from_env({})

    assert (settings.max_headers, settings.body_timeout) == (100, 10)
