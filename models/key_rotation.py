from peewee import CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now
from models.warehouse_connection import WarehouseConnection


class KeyRotation(BaseModel):
    """A connection's pending key rotation: the new public key and the user property it goes into.

    Its private key is the connection's secret PENDING_PRIVATE_KEY. The primary key is the connection: at most one
    rotation is pending, and the database, not the code, says so.
    """

    connection = ForeignKeyField(WarehouseConnection, primary_key=True, backref="key_rotations", on_delete="CASCADE")
    public_key = TextField()
    key_slot = CharField(max_length=32)
    started_at = DateTimeTZField(default=utc_now)
