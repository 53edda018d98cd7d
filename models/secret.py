from cryptography.fernet import MultiFernet
from peewee import CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now
from models.warehouse_connection import WarehouseConnection

PRIVATE_KEY = "private_key"


class EncryptionNotConfigured(RuntimeError):
    pass


# The keys secrets are encrypted with; set at start-up, like the database.
_configured_cipher: MultiFernet | None = None


def configure_encryption(cipher: MultiFernet) -> None:
    global _configured_cipher
    _configured_cipher = cipher


def _cipher() -> MultiFernet:
    if _configured_cipher is None:
        raise EncryptionNotConfigured("configure_encryption() was not called at start-up")
    return _configured_cipher


class Secret(BaseModel):
    """One encrypted secret of a connection: its private key, or a field its type marks sensitive.

    `ciphertext` is a Fernet token; the plaintext never reaches the database.
    """

    connection = ForeignKeyField(WarehouseConnection, backref="secrets", on_delete="CASCADE")
    name = CharField(max_length=64)
    ciphertext = TextField()
    created_at = DateTimeTZField(default=utc_now)

    class Meta:
        indexes = ((("connection", "name"), True),)

    @classmethod
    def store(cls, connection_id: str, name: str, plaintext: bytes) -> None:
        ciphertext = _cipher().encrypt(plaintext).decode()
        cls.insert(connection=connection_id, name=name, ciphertext=ciphertext).on_conflict(
            conflict_target=[cls.connection, cls.name], update={cls.ciphertext: ciphertext}
        ).execute()

    @classmethod
    def reveal(cls, connection_id: str, name: str) -> bytes:
        row = cls.get((cls.connection == connection_id) & (cls.name == name))
        return _cipher().decrypt(row.ciphertext.encode())
