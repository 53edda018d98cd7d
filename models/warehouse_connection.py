import datetime
import secrets
import string

import orjson
from peewee import CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, PreparedQuery, utc_now
from models.organisation import Organisation

ID_ALPHABET = string.ascii_lowercase + string.digits


def new_connection_id() -> str:
    return "wc_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(20))


def api_timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    setup_script = TextField()
    created_at = DateTimeTZField(default=utc_now)
    updated_at = DateTimeTZField(default=utc_now)
    last_tested_at = DateTimeTZField(null=True)
    last_error = TextField(null=True)
    # Bumped by every change of config, so a slow test can tell that the row moved under it.
    revision = IntegerField(default=1)

    def to_api(self) -> dict:
        return api_document(*(getattr(self, field.name) for field in API_COLUMNS))

    @classmethod
    def api_documents(cls, organisation_pk: int) -> list[dict]:
        """The organisation's connections as the API returns them: the list endpoint's one query."""
        return [api_document(*row) for row in _BY_ORGANISATION.rows(organisation_pk)]

    @classmethod
    def api_document_or_none(cls, organisation_pk: int, connection_id: str) -> dict | None:
        rows = _BY_ID.rows(connection_id, organisation_pk)
        return api_document(*rows[0]) if rows else None


# What the API returns of a connection, in api_document's argument order.
API_COLUMNS = (
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
    lambda: WarehouseConnection.select(*API_COLUMNS).where(WarehouseConnection.organisation == 0).tuples()
)
_BY_ID = PreparedQuery(
    lambda: (
        WarehouseConnection.select(*API_COLUMNS)
        .where((WarehouseConnection.id == "") & (WarehouseConnection.organisation == 0))
        .tuples()
    )
)


def api_document(id, type, status, config, public_key, setup_script, created_at, last_tested_at, last_error) -> dict:
    """A connection as the API returns it, for orjson; `config` is the stored JSON text, embedded unparsed."""
    return {
        "id": id,
        "type": type,
        "status": status,
        "config": orjson.Fragment(config),
        "public_key": public_key,
        "setup_script": setup_script,
        # A raw row has the database's own form of a timestamp (text on SQLite).
        "created_at": api_timestamp(_timestamp_value(created_at)),
        "last_tested_at": api_timestamp(_timestamp_value(last_tested_at)),
        "last_error": last_error,
    }
