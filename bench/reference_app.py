"""The yardstick: the two read operations written the plain way, with Flask and peewee, and nothing else.

What a competent engineer would write by hand for the same contract, as Flask's and peewee's docs show it:
`playhouse.flask_utils.FlaskDB` opens a (pooled) connection per request and closes it after, models
declared over the service's tables, an `Authorization: Api-Key <key>` check that finds the key by its
indexed prefix and compares its SHA-256 in constant time, the organisation match, then one query and
`jsonify`. No request validation, no logging or metrics, no problem+json: so the ratio the benchmark
reports is the price (or the gain) of everything the service adds on top of the same work.

It reads the same environment as the service (`DATABASE_URL`) and is served by gunicorn:

    DATABASE_URL=sqlite:///var/wc.sqlite3 gunicorn --chdir bench reference_app:app                    # sync
    DATABASE_URL=... gunicorn --chdir bench -k gthread --threads 4 --keep-alive 30 reference_app:app  # gthread
"""

import datetime
import hashlib
import hmac
import json
import os
from urllib.parse import urlparse

from flask import Flask, abort, jsonify, request
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField
from playhouse.db_url import parse
from playhouse.flask_utils import FlaskDB
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase
from playhouse.postgres_ext import DateTimeTZField

PREFIX_LENGTH = 12


def _database(url: str):
    # A pool, as the service has: connecting to PostgreSQL per request would cost the yardstick
    # milliseconds that no one would deploy with, and make the ratio flatter the service.
    if urlparse(url).scheme == "sqlite":
        return PooledSqliteDatabase(
            url.removeprefix("sqlite:///"),
            pragmas={"journal_mode": "wal", "foreign_keys": 1},
            check_same_thread=False,
            max_connections=32,
        )
    params = parse(url)
    return PooledPostgresqlDatabase(params.pop("database"), prefer_psycopg3=True, max_connections=32, **params)


app = Flask(__name__)
db = FlaskDB(app, _database(os.environ["DATABASE_URL"]))


class Model(db.Model):
    class Meta:
        legacy_table_names = False  # api_key, warehouse_connection: the service's table names


class Organisation(Model):
    name = CharField()
    created_at = DateTimeTZField()


class ApiKey(Model):
    organisation = ForeignKeyField(Organisation)
    name = CharField()
    prefix = CharField(unique=True)
    key_hash = CharField()
    read_only = BooleanField()
    created_at = DateTimeTZField()
    revoked_at = DateTimeTZField(null=True)


class WarehouseConnection(Model):
    id = CharField(primary_key=True)
    organisation = ForeignKeyField(Organisation, unique=True)
    type = CharField()
    status = CharField()
    config = TextField()
    public_key = TextField()
    setup_script = TextField()
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()
    last_tested_at = DateTimeTZField(null=True)
    last_error = TextField(null=True)
    revision = IntegerField()

    def to_dict(self):
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "config": json.loads(self.config),
            "public_key": self.public_key,
            "setup_script": self.setup_script,
            "created_at": _timestamp(self.created_at),
            "last_tested_at": _timestamp(self.last_tested_at),
            "last_error": self.last_error,
        }


def _timestamp(value):
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _authorise(organisation_id: int) -> None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "api-key" or not key:
        abort(401)
    api_key = ApiKey.get_or_none((ApiKey.prefix == key[:PREFIX_LENGTH]) & ApiKey.revoked_at.is_null())
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hashlib.sha256(key.encode()).hexdigest()):
        abort(401)
    if api_key.organisation_id != organisation_id:
        abort(403)


BASE = "/api/v1/organisations/<int:organisation_id>/integrations/warehouse-connections/"


@app.get(BASE)
def list_connections(organisation_id: int):
    _authorise(organisation_id)
    connections = WarehouseConnection.select().where(WarehouseConnection.organisation == organisation_id)
    return jsonify([connection.to_dict() for connection in connections])


@app.get(BASE + "<connection_id>/")
def get_connection(organisation_id: int, connection_id: str):
    _authorise(organisation_id)
    connection = WarehouseConnection.get_or_none(
        (WarehouseConnection.id == connection_id) & (WarehouseConnection.organisation == organisation_id)
    )
    if connection is None:
        abort(404)
    return jsonify(connection.to_dict())
