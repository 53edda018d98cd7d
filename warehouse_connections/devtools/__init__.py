"""Tools for developing against the service; the serving process never loads them (a test checks).

`snowflake_emulator`: Snowflake's login and query API on loopback, for the tests and the `snowflake-emulator` command.
"""
