"""Tools for developing against the service, apart from the serving process.

`snowflake_emulator`: Snowflake's login and query API on loopback, for the tests.
"""
