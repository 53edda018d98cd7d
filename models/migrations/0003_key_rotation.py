"""Key rotation: which user property holds a connection's public key, and the pending rotations.

Frozen copies of the models as they were.
"""

from peewee import CharField, ForeignKeyField, Model, TextField
from playhouse.postgres_ext import DateTimeTZField


def up(migrator, db):
    class WarehouseConnection(Model):
        id = CharField(primary_key=True, max_length=64)
        public_key = TextField()
        key_slot = CharField(max_length=32, null=True)

        class Meta:
            database = db
            table_name = "warehouse_connection"

    class KeyRotation(Model):
        connection = ForeignKeyField(WarehouseConnection, primary_key=True, on_delete="CASCADE")
        public_key = TextField()
        key_slot = CharField(max_length=32)
        started_at = DateTimeTZField()

        class Meta:
            database = db
            table_name = "key_rotation"

    migrator.migrate(migrator.add_column("warehouse_connection", "key_slot", WarehouseConnection.key_slot))
    # Every key made before rotations existed went into Snowflake's first slot; a type without a key pair has none.
    WarehouseConnection.update(key_slot="RSA_PUBLIC_KEY").where(WarehouseConnection.public_key != "").execute()
    db.create_tables([KeyRotation])


def down(migrator, db):
    # The pending rotations' private keys go with them.
    db.execute_sql(f"DELETE FROM secret WHERE name = {db.param}", ("pending_private_key",))
    migrator.migrate(migrator.drop_table("key_rotation"), migrator.drop_column("warehouse_connection", "key_slot"))
