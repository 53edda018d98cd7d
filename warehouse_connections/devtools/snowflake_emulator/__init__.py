"""Loopback emulator of the Snowflake HTTP API, driven by the real snowflake-connector-python 5.x.

The tests run it in process (tests/snowflake/fixtures.py).
"""

from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator
from warehouse_connections.devtools.snowflake_emulator.keys import account_locator, public_key_fingerprint

__all__ = ["SnowflakeEmulator", "account_locator", "public_key_fingerprint"]
