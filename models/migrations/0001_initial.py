"""The first schema: organisations, API keys, warehouse connections and their encrypted secrets.

Frozen copies of the models as they were; Python-side defaults (ids, timestamps) live in the app.
"""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, Model, TextField
from playhouse.postgres_ext import DateTimeTZField


def up(migrator, db):
    class Organisation(Model):
        name = CharField(max_length=200)
        created_at = DateTimeTZField()

        class Meta:
            database = db
            table_name = "organisation"

    db.create_tables([Organisation])

    class ApiKey(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        name = CharField(max_length=200)
        prefix = CharField(unique=True, max_length=12)
        key_hash = CharField(max_length=64)
        read_only = BooleanField(default=False)
        created_at = DateTimeTZField()
        revoked_at = DateTimeTZField(null=True)

        class Meta:
            database = db
            table_name = "api_key"

    db.create_tables([ApiKey])

    class WarehouseConnection(Model):
        id = CharField(primary_key=True, max_length=64)
        organisation = ForeignKeyField(Organisation, unique=True, on_delete="CASCADE")
        type = CharField(max_length=32)
        status = CharField(max_length=32, default="pending_customer_setup")
        config = TextField()
        public_key = TextField()
        setup_script = TextField()
        created_at = DateTimeTZField()
        updated_at = DateTimeTZField()
        last_tested_at = DateTimeTZField(null=True)
        last_error = TextField(null=True)
        revision = IntegerField(default=1)

        class Meta:
            database = db
            table_name = "warehouse_connection"

    db.create_tables([WarehouseConnection])

    class Secret(Model):
        connection = ForeignKeyField(WarehouseConnection, on_delete="CASCADE")
        name = CharField(max_length=64)
        ciphertext = TextField()
        created_at = DateTimeTZField()

        class Meta:
            database = db
            table_name = "secret"
            indexes = ((("connection", "name"), True),)

    db.create_tables([Secret])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("secret"))
    migrator.migrate(migrator.drop_table("warehouse_connection"))
    migrator.migrate(migrator.drop_table("api_key"))
    migrator.migrate(migrator.drop_table("organisation"))
