"""The lifecycle of an organisation's warehouse connection, independent of HTTP."""

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from peewee import IntegrityError

import warehouses
from models import ConnectionTest, KeyRotation, Secret, WarehouseConnection, database, utc_now
from models.secret import PRIVATE_KEY
from models.warehouse_connection import ID_PATTERN, ConnectionView, new_connection_id
from warehouse_connections.infrastructure import metrics
from warehouse_connections.infrastructure.abandonment import point_of_no_return
from warehouse_connections.settings import Settings
from warehouses import key_pair
from warehouses.connection_test_pool import ConnectionTestPool
from warehouses.steps import StepResult, first_failure

# What a connection of a type without a key pair stores as its public key; the API shows null.
NO_PUBLIC_KEY = ""
# How often an edit is tried when the connection changed while its destination was being checked.
EDIT_ATTEMPTS = 3


class ConnectionNotFound(LookupError):
    def __init__(self, organisation_pk: int, connection_id: str):
        super().__init__(f"No warehouse connection {connection_id[:80]!r} in organisation {organisation_pk}.")


class ConnectionExists(Exception):
    def __init__(self, organisation_pk: int):
        super().__init__(f"Organisation {organisation_pk} already has a warehouse connection.")


class StaleTest(Exception):
    def __init__(self, connection_id: str):
        super().__init__(
            f"Warehouse connection {connection_id!r} changed while it was being tested; "
            "the result was not recorded. Test it again."
        )


class EditConflict(Exception):
    def __init__(self, connection_id: str):
        super().__init__(
            f"Warehouse connection {connection_id!r} kept changing while this edit was being checked; nothing changed. "
            "Send it again."
        )


class ImmutableField(ValueError):
    def __init__(self, field: str):
        super().__init__(f"'{field}' cannot change; delete the connection and create a new one instead.")


def list_for_organisation(organisation_pk: int) -> list[ConnectionView]:
    """The list endpoint, on every dashboard page load: one indexed query, the SQL built once."""
    return WarehouseConnection.views(organisation_pk)


def get(organisation_pk: int, connection_id: str) -> ConnectionView:
    _check_id(organisation_pk, connection_id)
    view = WarehouseConnection.view_or_none(organisation_pk, connection_id)
    if view is None:
        raise ConnectionNotFound(organisation_pk, connection_id)
    return view


def get_row(organisation_pk: int, connection_id: str, lock: bool = False) -> WarehouseConnection:
    """The stored connection; `lock`: its row stays locked until the transaction ends."""
    _check_id(organisation_pk, connection_id)
    query = WarehouseConnection.select().where(
        (WarehouseConnection.id == connection_id) & (WarehouseConnection.organisation == organisation_pk)
    )
    # SQLite has no FOR UPDATE, and needs none: a write transaction there holds the whole database.
    connection = (query.for_update() if lock and database.for_update else query).first()
    if connection is None:
        raise ConnectionNotFound(organisation_pk, connection_id)
    return connection


@contextmanager
def locked(organisation_pk: int, connection_id: str) -> Iterator[WarehouseConnection]:
    """The connection, its row locked until the block ends, in a transaction.

    Its secrets and its rotation are rows of their own, read apart from it: read in the block, they belong to it,
    since every delete and every change of its keys or rotation locks the row first and so waits.
    """
    with database.atomic():
        yield get_row(organisation_pk, connection_id, lock=True)


def _check_id(organisation_pk: int, connection_id: str) -> None:
    # A malformed id cannot exist; checking it first also keeps bytes such as NUL away from the database.
    if not ID_PATTERN.fullmatch(connection_id):
        raise ConnectionNotFound(organisation_pk, connection_id)


def create(organisation_pk: int, body: dict, settings: Settings) -> ConnectionView:
    warehouse = warehouses.get(body["type"])
    fields = {field: value for field, value in body.items() if field != "type"}
    config = _settled(warehouse, _with_defaults(warehouse, fields), fields, None)
    warehouse.check_destination(config, settings)
    # A cheap answer for the common case before minting a key; the unique index decides races.
    if WarehouseConnection.select().where(WarehouseConnection.organisation == organisation_pk).exists():
        raise ConnectionExists(organisation_pk)
    keys = key_pair.generate(settings.rsa_key_bits) if warehouse.KEY_SLOTS else None
    key = key_pair.UserKey(keys.public_key, warehouse.KEY_SLOTS[0]) if keys else None
    connection_id = new_connection_id()
    public_config, sensitive = _split(warehouse, config)
    with database.atomic():
        # After BEGIN, which on SQLite may wait for the write lock: the shutdown can still abandon a wait.
        point_of_no_return()
        try:
            with database.atomic():
                connection = WarehouseConnection.create(
                    id=connection_id,
                    organisation=organisation_pk,
                    type=warehouse.NAME,
                    config=json.dumps(public_config),
                    public_key=key.public_key if key else NO_PUBLIC_KEY,
                    key_slot=key and key.slot,
                    setup_script=warehouse.setup_script(connection_id, config, key),
                )
        except IntegrityError:
            raise ConnectionExists(organisation_pk) from None
        if keys:
            Secret.store(connection_id, PRIVATE_KEY, keys.private_key_der)
        _store_sensitive(connection_id, sensitive)
    return connection.view()


def replace(organisation_pk: int, connection_id: str, body: dict, settings: Settings) -> ConnectionView:
    """PUT: the whole config again. The fields that say which warehouse this is must not change."""
    return _update(organisation_pk, connection_id, body, settings, replace_all=True)


def patch(organisation_pk: int, connection_id: str, changes: dict, settings: Settings) -> ConnectionView:
    return _update(organisation_pk, connection_id, changes, settings, replace_all=False)


def _update(
    organisation_pk: int, connection_id: str, body: dict, settings: Settings, replace_all: bool
) -> ConnectionView:
    for _attempt in range(EDIT_ATTEMPTS):
        with locked(organisation_pk, connection_id) as connection:
            warehouse = warehouses.get(connection.type)
            current = stored_config(connection, warehouse)
        config = _edited_config(warehouse, connection, current, body, replace_all)
        # Resolving a host may take seconds: not inside the transaction, which on SQLite holds the write lock.
        warehouse.check_destination(config, settings)
        edited = _store_edit(warehouse, connection, config)
        if edited is not None:
            return edited
        get_row(organisation_pk, connection_id)  # ConnectionNotFound if it was deleted meanwhile
    raise EditConflict(connection_id)


def _edited_config(
    warehouse: warehouses.WarehouseType, connection: WarehouseConnection, current: dict, body: dict, replace_all: bool
) -> dict:
    """The config `body` makes of the stored one, completed and validated; ImmutableField if it is another warehouse."""
    if (body["type"] if replace_all else warehouses.type_of_patch(body)) != connection.type:
        raise ImmutableField("type")
    fields = {field: value for field, value in body.items() if field != "type"}
    config = _with_defaults(warehouse, fields) if replace_all else {**current, **fields}
    for field in warehouse.IMMUTABLE_FIELDS:
        if config[field] != current[field]:
            raise ImmutableField(field)
    return _settled(warehouse, config, fields, current)


def _store_edit(
    warehouse: warehouses.WarehouseType, connection: WarehouseConnection, config: dict
) -> ConnectionView | None:
    """The connection as edited; None, storing nothing, if it changed since `connection` was read."""
    public_config, sensitive = _split(warehouse, config)
    with database.atomic():
        point_of_no_return()
        updated = (
            WarehouseConnection.update(
                config=json.dumps(public_config),
                setup_script=warehouse.setup_script(connection.id, config, user_key(connection)),
                # The last test described the old config; the key pair stays.
                status="pending_customer_setup",
                last_tested_at=None,
                last_error=None,
                revision=WarehouseConnection.revision + 1,
                updated_at=utc_now(),
            )
            .where((WarehouseConnection.id == connection.id) & (WarehouseConnection.revision == connection.revision))
            .execute()
        )
        if updated != 1:
            return None
        _store_sensitive(connection.id, sensitive)
        # Read in the transaction, which holds the row: a delete right after it cannot take the answer away.
        return WarehouseConnection.get_by_id(connection.id).view()


def user_key(connection: WarehouseConnection) -> key_pair.UserKey | None:
    """The connection's public key and the user property it is in; None for a type without a key pair."""
    if connection.public_key == NO_PUBLIC_KEY:
        return None
    # A row that a replica of an older version wrote (during a rolling deploy) has no slot: it used the first.
    slot = connection.key_slot or warehouses.get(connection.type).KEY_SLOTS[0]
    return key_pair.UserKey(connection.public_key, slot)


@dataclass(frozen=True)
class ConnectionTestResult:
    tested_at: datetime.datetime
    steps: tuple[StepResult, ...]

    @property
    def error(self) -> str | None:
        """The warehouse's own words for the first failure; None when the test passed."""
        failure = first_failure(self.steps)
        return None if failure is None else failure.message


@dataclass(frozen=True)
class ConnectionTestRecord:
    tested_by: str
    result: ConnectionTestResult


def run_test(
    organisation_pk: int, connection_id: str, settings: Settings, pool: ConnectionTestPool, tested_by: str
) -> ConnectionTestResult:
    """Test against the warehouse on the pool and record the outcome, unless the connection changed meanwhile."""
    connection, steps = pool.run(lambda: _check(organisation_pk, connection_id, settings))
    result = ConnectionTestResult(tested_at=utc_now(), steps=tuple(steps))
    with database.atomic():
        # A test the shutdown cut short (answered 503) records nothing, however it ended.
        point_of_no_return()
        recorded = (
            WarehouseConnection.update(
                status="connected" if result.error is None else "error",
                last_tested_at=result.tested_at,
                last_error=result.error,
            )
            # The revision it was tested at: an edit or delete since then means the result is stale.
            .where((WarehouseConnection.id == connection.id) & (WarehouseConnection.revision == connection.revision))
            .execute()
        )
        if recorded == 1:
            ConnectionTest.record(
                connection.id, result.tested_at, tested_by, result.error, [asdict(step) for step in steps]
            )
    if recorded != 1:
        metrics.CONNECTION_TESTS.labels("stale").inc()
        raise StaleTest(connection.id)
    metrics.CONNECTION_TESTS.labels("success" if result.error is None else "failure").inc()
    return result


def _check(organisation_pk: int, connection_id: str, settings: Settings):
    """On a thread of the test pool: read what the test needs, give the database connection back, then test."""
    with database.connection_context(), locked(organisation_pk, connection_id) as connection:
        warehouse = warehouses.get(connection.type)
        config = stored_config(connection, warehouse)
        private_key = Secret.reveal(connection.id, PRIVATE_KEY) if warehouse.KEY_SLOTS else None
    steps = warehouse.check_connection(connection.id, config, user_key(connection), private_key, settings)
    return connection, steps


def history(organisation_pk: int, connection_id: str) -> list[ConnectionTestRecord]:
    """The connection's recent results, newest first."""
    connection = get_row(organisation_pk, connection_id)
    return [
        ConnectionTestRecord(
            row.tested_by,
            ConnectionTestResult(row.tested_at, tuple(StepResult(**step) for step in json.loads(row.steps))),
        )
        for row in ConnectionTest.newest_first(connection.id)
    ]


def delete(organisation_pk: int, connection_id: str) -> None:
    """Hard delete: the connection, every secret of it (a pending rotation's key too), in one transaction."""
    with database.atomic():
        # Locked first, as every transaction that changes a connection's rotation or keys does: no deadlock.
        connection = get_row(organisation_pk, connection_id, lock=True)
        point_of_no_return()
        Secret.delete().where(Secret.connection == connection.id).execute()
        KeyRotation.delete().where(KeyRotation.connection == connection.id).execute()
        ConnectionTest.delete().where(ConnectionTest.connection == connection.id).execute()
        if WarehouseConnection.delete().where(WarehouseConnection.id == connection.id).execute() != 1:
            raise ConnectionNotFound(organisation_pk, connection_id)


def _with_defaults(warehouse: warehouses.WarehouseType, body: dict) -> dict:
    return {field: body.get(field, default) for field, default in warehouse.DEFAULTS.items()}


def _settled(warehouse: warehouses.WarehouseType, config: dict, sent: dict, current: dict | None) -> dict:
    """The config to store, completed by the type and validated (its destination is checked apart: it may wait)."""
    config = warehouse.settle(config, sent, current)
    warehouse.validate(config)
    return config


def stored_config(connection: WarehouseConnection, warehouse: warehouses.WarehouseType) -> dict:
    """The whole config, its sensitive fields decrypted: for the warehouse, never for a response."""
    return {**json.loads(connection.config), **_reveal_sensitive(connection.id, warehouse)}


def _split(warehouse: warehouses.WarehouseType, config: dict) -> tuple[dict, dict]:
    public = {field: value for field, value in config.items() if field not in warehouse.SENSITIVE_FIELDS}
    sensitive = {field: value for field, value in config.items() if field in warehouse.SENSITIVE_FIELDS}
    return public, sensitive


def _store_sensitive(connection_id: str, sensitive: dict) -> None:
    for field, value in sensitive.items():
        Secret.store(connection_id, f"config.{field}", value.encode())


def _reveal_sensitive(connection_id: str, warehouse: warehouses.WarehouseType) -> dict:
    return {field: Secret.reveal(connection_id, f"config.{field}").decode() for field in warehouse.SENSITIVE_FIELDS}
