import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

from peewee import BooleanField, CharField, ForeignKeyField, IntegrityError
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, PreparedQuery, database, utc_now
from models.names import MAX_NAME_LENGTH, checked_name
from models.organisation import Organisation

KEY_PREFIX = "wck_"
# Any key the service could have issued: anything else is unknown without a database round trip.
KEY_PATTERN = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{32,128}}")
# "wck_" and 8 more characters: enough to name a key in lists and logs, far too little to use it.
PREFIX_LENGTH = 12
# Any prefix the service could have issued: anything else names no key, without a database round trip.
PREFIX_PATTERN = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{{PREFIX_LENGTH - len(KEY_PREFIX)}}}")


class ActiveKey(NamedTuple):
    organisation_id: int
    read_only: bool
    prefix: str


def new_key() -> str:
    """A new key: its prefix and 43 random URL-safe characters (32 bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(BaseModel):
    """An organisation's API key. Only the SHA-256 of the key is stored."""

    organisation = ForeignKeyField(Organisation, backref="api_keys", on_delete="CASCADE")
    name = CharField(max_length=MAX_NAME_LENGTH)
    prefix = CharField(max_length=PREFIX_LENGTH, unique=True)
    key_hash = CharField(max_length=64)
    read_only = BooleanField(default=False)
    created_at = DateTimeTZField(default=utc_now)
    revoked_at = DateTimeTZField(null=True)

    def save(self, *args, **kwargs):
        # Checked on every save, so both databases keep the same names (models.names).
        self.name = checked_name(self.name, "API key name")
        return super().save(*args, **kwargs)

    @classmethod
    def issue(cls, organisation_id: int, name: str, read_only: bool = False) -> tuple["ApiKey", str]:
        """Create a key; returns the row and the key, which exists nowhere else from now on."""
        for attempt in range(3):
            key = new_key()
            try:
                with database.atomic():
                    row = cls.create(
                        organisation=organisation_id,
                        name=name,
                        prefix=key[:PREFIX_LENGTH],
                        key_hash=hash_key(key),
                        read_only=read_only,
                    )
                return row, key
            except IntegrityError:
                # Two keys sharing a prefix is rare but possible; the unique index decides.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def find_active(cls, key: str) -> "ActiveKey | None":
        """The unrevoked key matching `key`, compared in constant time; None if there is none."""
        if not KEY_PATTERN.fullmatch(key):
            return None
        rows = _ACTIVE_BY_PREFIX.rows(key[:PREFIX_LENGTH])
        if not rows:
            return None
        organisation_id, read_only, prefix, key_hash = rows[0]
        if not hmac.compare_digest(key_hash, hash_key(key)):
            return None
        return ActiveKey(organisation_id, bool(read_only), prefix)

    @classmethod
    def revoke(cls, prefix: str) -> bool:
        """Revoke the active key with this prefix; False if there is none."""
        if not PREFIX_PATTERN.fullmatch(prefix):
            return False
        updated = cls.update(revoked_at=utc_now()).where((cls.prefix == prefix) & cls.revoked_at.is_null()).execute()
        return updated == 1


# Every API call looks its key up: the SQL is built once (models.base.PreparedQuery).
_ACTIVE_BY_PREFIX = PreparedQuery(
    lambda: (
        ApiKey.select(ApiKey.organisation, ApiKey.read_only, ApiKey.prefix, ApiKey.key_hash)
        .where((ApiKey.prefix == "") & ApiKey.revoked_at.is_null())
        .tuples()
    )
)
