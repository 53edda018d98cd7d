"""Demo data in bulk, for benchmarks: organisations, each with a connection and a full API key."""

import json
from collections.abc import Iterator

import warehouses
from models import ApiKey, Organisation, Secret, WarehouseConnection, database, utc_now
from models.api_key import PREFIX_LENGTH, hash_key, new_key
from models.secret import PRIVATE_KEY, encrypt
from models.warehouse_connection import new_connection_id
from warehouses import key_pair

BATCH = 2_000
# A mix as a dashboard would see it: most connected, some waiting for setup, a few failing.
STATUSES = ("connected", "connected", "connected", "pending_customer_setup", "error")


FAILED_TEST = "390144 (28000): Failed to login: Login error: JWT token is invalid."


def seed(organisations: int, key_bits: int) -> Iterator[tuple[int, str]]:
    """Create the organisations in batches; yields (organisation id, API key) for each.

    One key pair serves every connection, so that a million rows take minutes, not days.
    """
    snowflake = warehouses.get("snowflake")
    keys = key_pair.generate(key_bits)
    ciphertext = encrypt(keys.private_key_der)
    key = key_pair.UserKey(keys.public_key, snowflake.KEY_SLOTS[0])
    tested_at = utc_now()
    for start in range(0, organisations, BATCH):
        size = min(BATCH, organisations - start)
        with database.atomic():
            ids = [
                organisation.id
                for organisation in Organisation.insert_many([{"name": f"Demo {start + n}"} for n in range(size)])
                .returning(Organisation.id)
                .execute()
            ]
            api_keys = [new_key() for _ in ids]
            ApiKey.insert_many(
                {"organisation": org, "name": "demo", "prefix": key[:PREFIX_LENGTH], "key_hash": hash_key(key)}
                for org, key in zip(ids, api_keys, strict=True)
            ).execute()
            connections = []
            for n, org in enumerate(ids):
                config = {**snowflake.DEFAULTS, "account_identifier": f"demo{start + n}.us-east-1"}
                connection_id = new_connection_id()
                status = STATUSES[(start + n) % len(STATUSES)]
                connections.append(
                    {
                        "id": connection_id,
                        "organisation": org,
                        "type": snowflake.NAME,
                        "status": status,
                        "last_tested_at": None if status == "pending_customer_setup" else tested_at,
                        "last_error": FAILED_TEST if status == "error" else None,
                        "config": json.dumps(config),
                        "public_key": keys.public_key,
                        "key_slot": key.slot,
                        "setup_script": snowflake.setup_script(connection_id, config, key),
                    }
                )
            WarehouseConnection.insert_many(connections).execute()
            Secret.insert_many(
                {"connection": c["id"], "name": PRIVATE_KEY, "ciphertext": ciphertext} for c in connections
            ).execute()
        yield from zip(ids, api_keys, strict=True)
