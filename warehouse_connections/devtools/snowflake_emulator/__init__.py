"""Loopback emulator of the Snowflake HTTP API, driven by the real snowflake-connector-python 5.x.

The tests run it in process (tests/snowflake/fixtures.py); `warehouse-connections snowflake-emulator` runs it as a
development command (command.py), for a connection test to succeed with no Snowflake account.
"""

from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator
from warehouse_connections.devtools.snowflake_emulator.keys import account_locator, public_key_fingerprint

__all__ = ["SnowflakeEmulator", "account_locator", "public_key_fingerprint"]
