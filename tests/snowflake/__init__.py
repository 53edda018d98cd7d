"""The Snowflake emulator's pytest fixtures (fixtures.py); the emulator is warehouse_connections.devtools."""
