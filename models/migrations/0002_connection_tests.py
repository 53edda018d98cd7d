"""The connection test history: the last results of each connection's tests, with their steps.

A frozen copy of the model as it was.
"""

from peewee import AutoField, BooleanField, CharField, ForeignKeyField, Model, TextField
from playhouse.postgres_ext import DateTimeTZField


def up(migrator, db):
    class WarehouseConnection(Model):
        id = CharField(primary_key=True, max_length=64)

        class Meta:
            database = db
            table_name = "warehouse_connection"

    class ConnectionTest(Model):
        id = AutoField()
        connection = ForeignKeyField(WarehouseConnection, on_delete="CASCADE")
        tested_at = DateTimeTZField()
        tested_by = TextField()
        success = BooleanField()
        error = TextField(null=True)
        steps = TextField()

        class Meta:
            database = db
            table_name = "connection_test"
            indexes = ((("connection", "id"), False),)

    db.create_tables([ConnectionTest])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("connection_test"))
