import datetime
import json
import secrets
import string

from peewee import CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now
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
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "config": json.loads(self.config),
            "public_key": self.public_key,
            "setup_script": self.setup_script,
            "created_at": api_timestamp(self.created_at),
            "last_tested_at": api_timestamp(self.last_tested_at),
            "last_error": self.last_error,
        }
