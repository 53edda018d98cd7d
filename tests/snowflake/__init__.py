"""Loopback emulator of the Snowflake HTTP API, driven by the real snowflake-connector-python 5.x."""

from tests.snowflake.emulator import SnowflakeEmulator
from tests.snowflake.keys import account_locator, public_key_fingerprint

__all__ = ["SnowflakeEmulator", "account_locator", "public_key_fingerprint"]
