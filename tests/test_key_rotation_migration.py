"""Migration 0003 on a database that 0002 left with connections: keys made before rotations are in the first slot."""

import json
import secrets
from urllib.parse import urlsplit

import pytest
from playhouse.migrations import Runner

from models.storage import MIGRATIONS_DIR, open_database


@pytest.fixture
def database_at_0002(settings, tmp_path):
    """A database of its own (on the suite's PostgreSQL server, when it runs there), migrated up to 0002."""
    if settings.database_url.startswith("postgresql"):
        server = urlsplit(settings.database_url)
        name = f"wc_migration_{secrets.token_hex(4)}"
        admin = open_database(settings.database_url)
        admin.execute_sql(f"CREATE DATABASE {name}")
        url = server._replace(path=f"/{name}").geturl()
    else:
        admin, url = None, f"sqlite:///{tmp_path}/old.sqlite3"
    db = open_database(url)
    with db.connection_context():
        runner = Runner(db, directory=str(MIGRATIONS_DIR))
        runner.up(target="0002_connection_tests")
        yield db, runner
    db.close_all()
    if admin is not None:
        admin.execute_sql(f"DROP DATABASE {name}")
        admin.close_all()


def insert_connection(db, connection_id: str, organisation_id: int, type_: str, public_key: str) -> None:
    db.execute_sql(
        "INSERT INTO warehouse_connection (id, organisation_id, type, status, config, public_key, setup_script, "
        "created_at, updated_at, revision) VALUES (%s, %s, %s, 'pending_customer_setup', %s, %s, '', "
        "'2026-12-01 10:00:00+00:00', '2026-12-01 10:00:00+00:00', 1)".replace("%s", db.param),
        (connection_id, organisation_id, type_, json.dumps({}), public_key),
    )


def test_migration_0003__existing_connections__snowflake_keys_in_the_first_slot_postgresql_none(database_at_0002):
    db, runner = database_at_0002
    for organisation_id in (1, 2):
        db.execute_sql(
            f"INSERT INTO organisation (id, name, created_at) VALUES ({organisation_id}, 'Acme', "
            "'2026-12-01 10:00:00+00:00')"
        )
    insert_connection(db, "wc_snowflake000000000000", 1, "snowflake", "MIIBIjANBgkq")
    insert_connection(db, "wc_postgresql00000000000", 2, "postgresql", "")

    assert runner.up() == ["0003_key_rotation"]

    slots = db.execute_sql("SELECT id, key_slot FROM warehouse_connection ORDER BY id").fetchall()
    assert slots == [("wc_postgresql00000000000", None), ("wc_snowflake000000000000", "RSA_PUBLIC_KEY")]
    assert db.execute_sql("SELECT COUNT(*) FROM key_rotation").fetchone() == (0,)


def test_migration_0003__down_then_up__leaves_the_schema_as_up_made_it_and_no_pending_key(database_at_0002):
    db, runner = database_at_0002
    db.execute_sql("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Acme', '2026-12-01 10:00:00+00:00')")
    insert_connection(db, "wc_snowflake000000000000", 1, "snowflake", "MIIBIjANBgkq")
    runner.up()
    columns = [column.name for column in db.get_columns("warehouse_connection")]
    for name in ("private_key", "pending_private_key"):
        db.execute_sql(
            "INSERT INTO secret (connection_id, name, ciphertext, created_at) "
            f"VALUES ('wc_snowflake000000000000', '{name}', 'gAAAA', '2026-12-01 10:00:00+00:00')"
        )

    runner.down()
    assert db.execute_sql("SELECT name FROM secret").fetchall() == [("private_key",)]
    assert "key_slot" not in [column.name for column in db.get_columns("warehouse_connection")]
    assert not db.table_exists("key_rotation")
    runner.up()

    assert [column.name for column in db.get_columns("warehouse_connection")] == columns
    assert db.table_exists("key_rotation")
