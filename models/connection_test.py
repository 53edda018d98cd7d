"""A connection's test history: each result as the test answered it, and who ran it."""

import json

from peewee import AutoField, BooleanField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel
from models.warehouse_connection import WarehouseConnection

# The results a connection keeps; older ones are pruned as new ones arrive.
HISTORY_LENGTH = 20


class ConnectionTest(BaseModel):
    id = AutoField()
    connection = ForeignKeyField(WarehouseConnection, backref="tests", on_delete="CASCADE")
    tested_at = DateTimeTZField()
    # An API key's prefix, or a signed-in user's subject.
    tested_by = TextField()
    success = BooleanField()
    error = TextField(null=True)
    # The steps as the API shows them, as JSON text.
    steps = TextField()

    class Meta:
        indexes = ((("connection", "id"), False),)

    @classmethod
    def record(cls, connection_id: str, tested_at, tested_by: str, error: str | None, steps: list[dict]) -> None:
        """Add a result and prune the connection's history to its newest HISTORY_LENGTH."""
        cls.create(
            connection=connection_id,
            tested_at=tested_at,
            tested_by=tested_by,
            success=error is None,
            error=error,
            steps=json.dumps(steps),
        )
        newest = cls.select(cls.id).where(cls.connection == connection_id).order_by(cls.id.desc()).limit(HISTORY_LENGTH)
        cls.delete().where((cls.connection == connection_id) & cls.id.not_in(newest)).execute()

    @classmethod
    def newest_first(cls, connection_id: str) -> list["ConnectionTest"]:
        return list(cls.select().where(cls.connection == connection_id).order_by(cls.id.desc()).limit(HISTORY_LENGTH))
