"""`warehouse-connections snowflake-emulator`: the emulator on loopback, as if every connection's setup script ran.

Each user a connection in the configured database names logs in with that connection's key pair, and every stage
exists, so a connection test succeeds with no Snowflake account. For development only: it binds 127.0.0.1.
"""

import json
import signal
import sys
import threading

from models import KeyRotation, WarehouseConnection, database
from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator
from warehouse_connections.devtools.snowflake_emulator.keys import account_locator
from warehouses import snowflake
from warehouses.connections import user_key

BANNER = """\
Snowflake emulator at {url} (loopback only): every connection in the configured database logs in with its
key pair, and every stage exists. Point the service at it:

    WC_SNOWFLAKE_ENDPOINT={url} warehouse-connections serve

Ctrl-C stops it."""


def public_keys_of_user(account: str, user: str) -> dict[str, str]:
    """{slot: public key} of the connection whose account locator and USER these are: its own key and a pending
    rotation's (as if the rotation script had run too)."""
    # Every connection, at every login: fine on a developer's database (the config is JSON, not columns).
    with database.connection_context():
        for connection in WarehouseConnection.select().where(WarehouseConnection.type == snowflake.NAME):
            config = json.loads(connection.config)
            if account_locator(config["account_identifier"]) == account and config["user"].upper() == user:
                pending = KeyRotation.get_or_none(KeyRotation.connection == connection.id)
                current = user_key(connection)
                return {current.slot: current.public_key, **({pending.key_slot: pending.public_key} if pending else {})}
    return {}


def run(port: int) -> None:
    """Serves on 127.0.0.1:`port` (0: a free one) until SIGINT or SIGTERM; OSError if it cannot bind."""
    emulator = SnowflakeEmulator(port)
    emulator.resolve_user = public_keys_of_user
    emulator.every_stage_exists = True
    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    with emulator:
        print(BANNER.format(url=emulator.url), flush=True)
        stopped.wait()
    print("Snowflake emulator stopped", file=sys.stderr)
