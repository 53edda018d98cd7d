from peewee import CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now
from models.warehouse_connection import WarehouseConnection


class Secret(BaseModel):
    """One encrypted secret of a connection (its private key, or a field its type marks sensitive).

    `ciphertext` is a Fernet token; the plaintext never reaches the database.
    """

    connection = ForeignKeyField(WarehouseConnection, backref="secrets", on_delete="CASCADE")
    name = CharField(max_length=64)
    ciphertext = TextField()
    created_at = DateTimeTZField(default=utc_now)

    class Meta:
        indexes = ((("connection", "name"), True),)
