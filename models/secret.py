from cryptography.fernet import InvalidToken, MultiFernet
from peewee import CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, database, utc_now
from models.warehouse_connection import WarehouseConnection

PRIVATE_KEY = "private_key"
# The private key of a pending key rotation (models/key_rotation.py).
PENDING_PRIVATE_KEY = "pending_private_key"


class EncryptionNotConfigured(RuntimeError):
    pass


class SecretsUnreadable(RuntimeError):
    """The configured keys cannot decrypt what is stored: a key was removed before `secrets rotate`."""

    def __init__(self):
        super().__init__(
            "the encryption keys (WC_SECRET_KEYS or the key file) cannot decrypt the stored secrets; "
            "configure the key they were encrypted with (keep it beside the new one until `secrets rotate` has run)"
        )


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
        ciphertext = encrypt(plaintext)
        cls.insert(connection=connection_id, name=name, ciphertext=ciphertext).on_conflict(
            conflict_target=[cls.connection, cls.name], update={cls.ciphertext: ciphertext}
        ).execute()

    @classmethod
    def reveal(cls, connection_id: str, name: str) -> bytes:
        row = cls.get((cls.connection == connection_id) & (cls.name == name))
        return _decrypt(row.ciphertext)

    @classmethod
    def check_keys(cls) -> None:
        """Raise SecretsUnreadable unless the configured keys decrypt a stored secret (if there is one)."""
        row = cls.select(cls.ciphertext).first() if cls.table_exists() else None
        if row is not None:
            _decrypt(row.ciphertext)

    @classmethod
    def rotate_all(cls) -> int:
        """Re-encrypt every secret with the first key, in one transaction; returns how many."""
        cipher = _cipher()
        with database.atomic():
            rows = list(cls.select(cls.id, cls.ciphertext))
            for row in rows:
                cls.update(ciphertext=cipher.rotate(row.ciphertext.encode()).decode()).where(cls.id == row.id).execute()
        return len(rows)


def encrypt(plaintext: bytes) -> str:
    return _cipher().encrypt(plaintext).decode()


def _decrypt(ciphertext: str) -> bytes:
    try:
        return _cipher().decrypt(ciphertext.encode())
    except InvalidToken:
        raise SecretsUnreadable() from None
