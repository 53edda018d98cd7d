import datetime
import re
import secrets
import string
from typing import NamedTuple

from peewee import CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, PreparedQuery, utc_now
from models.organisation import Organisation

ID_ALPHABET = string.ascii_lowercase + string.digits
ID_PREFIX = "wc_"
ID_RANDOM_CHARACTERS = 20
# Any id the service could have made (and the spec's pattern allows): anything else names no connection.
ID_PATTERN = re.compile(rf"{ID_PREFIX}[{ID_ALPHABET}]{{16,60}}")


def new_connection_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_RANDOM_CHARACTERS))


class ConnectionView(NamedTuple):
    """What the API shows of a connection: never a secret. `config` is the stored JSON text."""

    id: str
    type: str
    status: str
    config: str
    public_key: str
    setup_script: str
    created_at: datetime.datetime
    last_tested_at: datetime.datetime | None
    last_error: str | None


class WarehouseConnection(BaseModel):
    """An organisation's connection to its warehouse: at most one per organisation."""

    id = CharField(primary_key=True, max_length=64, default=new_connection_id)
    # unique: the database, not the code, enforces one connection per organisation.
    organisation = ForeignKeyField(Organisation, unique=True, backref="warehouse_connections", on_delete="CASCADE")
    type = CharField(max_length=32)
    status = CharField(max_length=32, default="pending_customer_setup")
    # The non-sensitive config as the API returns it, as JSON text.
    config = TextField()
    public_key = TextField()
    # Which user property holds public_key (Snowflake's RSA_PUBLIC_KEY or RSA_PUBLIC_KEY_2); null without a key pair.
    key_slot = CharField(max_length=32, null=True)
    setup_script = TextField()
    created_at = DateTimeTZField(default=utc_now)
    updated_at = DateTimeTZField(default=utc_now)
    last_tested_at = DateTimeTZField(null=True)
    last_error = TextField(null=True)
    # Bumped by every change of config, so a slow test can tell that the row moved under it.
    revision = IntegerField(default=1)

    def view(self) -> ConnectionView:
        return ConnectionView(*(getattr(self, field.name) for field in VIEW_COLUMNS))

    @classmethod
    def views(cls, organisation_pk: int) -> list[ConnectionView]:
        """The organisation's connections: the list endpoint's one query."""
        return [_view(row) for row in _BY_ORGANISATION.rows(organisation_pk)]

    @classmethod
    def view_or_none(cls, organisation_pk: int, connection_id: str) -> ConnectionView | None:
        rows = _BY_ID.rows(connection_id, organisation_pk)
        return _view(rows[0]) if rows else None


# ConnectionView's columns, in its order.
VIEW_COLUMNS = (
    WarehouseConnection.id,
    WarehouseConnection.type,
    WarehouseConnection.status,
    WarehouseConnection.config,
    WarehouseConnection.public_key,
    WarehouseConnection.setup_script,
    WarehouseConnection.created_at,
    WarehouseConnection.last_tested_at,
    WarehouseConnection.last_error,
)
_timestamp_value = WarehouseConnection.created_at.python_value  # both timestamps are DateTimeTZFields
_BY_ORGANISATION = PreparedQuery(
    lambda: WarehouseConnection.select(*VIEW_COLUMNS).where(WarehouseConnection.organisation == 0).tuples()
)
_BY_ID = PreparedQuery(
    lambda: (
        WarehouseConnection.select(*VIEW_COLUMNS)
        .where((WarehouseConnection.id == "") & (WarehouseConnection.organisation == 0))
        .tuples()
    )
)


def _view(row: tuple) -> ConnectionView:
    # A raw row has the database's own form of a timestamp (text on SQLite).
    *fields, created_at, last_tested_at, last_error = row
    return ConnectionView(*fields, _timestamp_value(created_at), _timestamp_value(last_tested_at), last_error)
