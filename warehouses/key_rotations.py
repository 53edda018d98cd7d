"""Rotating a connection's key pair with no downtime: a new key beside the current one, then a switch to it.

Start makes the new pair and keeps it pending; the customer runs the rotation script, which gives the warehouse
user the new public key in its other slot; complete logs in with the new key and, if the warehouse accepts it,
makes it the connection's. Until then everything uses the current key.
"""

import datetime
from dataclasses import dataclass

from peewee import IntegrityError

import warehouses
from models import KeyRotation, Secret, WarehouseConnection, database, utc_now
from models.secret import PENDING_PRIVATE_KEY, PRIVATE_KEY
from models.warehouse_connection import ConnectionView
from warehouse_connections.infrastructure.abandonment import point_of_no_return
from warehouse_connections.settings import Settings
from warehouses import key_pair
from warehouses.base import KeyRotatingType, rotates_keys
from warehouses.connection_test_pool import ConnectionTestPool
from warehouses.connections import get_row, locked, stored_config, user_key
from warehouses.key_pair import UserKey
from warehouses.steps import StepResult, first_failure


class NoKeyPair(Exception):
    def __init__(self, connection: WarehouseConnection):
        super().__init__(f"Warehouse connection {connection.id!r} ({connection.type}) has no key pair to rotate.")


class RotationPending(Exception):
    def __init__(self, connection_id: str):
        super().__init__(
            f"Warehouse connection {connection_id!r} has a key rotation pending already; complete or cancel it first."
        )


class NoKeyRotation(LookupError):
    def __init__(self, connection_id: str):
        super().__init__(f"Warehouse connection {connection_id!r} has no key rotation pending.")


class KeyRejected(Exception):
    """The warehouse did not accept the new key (or could not be reached): the failed step says why."""

    def __init__(self, step: StepResult):
        super().__init__(step.message)
        self.step = step


class StaleKeyCheck(Exception):
    def __init__(self, connection_id: str):
        super().__init__(
            f"Warehouse connection {connection_id!r} or its key rotation changed while the new key was being checked; "
            "nothing changed. Complete the rotation again."
        )


@dataclass(frozen=True)
class PendingRotation:
    key: UserKey
    rotation_script: str
    started_at: datetime.datetime


@dataclass(frozen=True)
class CompletedRotation:
    connection: ConnectionView
    cleanup_script: str


def start(organisation_pk: int, connection_id: str, settings: Settings) -> PendingRotation:
    _rotating(get_row(organisation_pk, connection_id))
    # Before the transaction: making a key pair takes a while.
    keys = key_pair.generate(settings.rsa_key_bits)
    with database.atomic():
        point_of_no_return()
        # Locked: a completion between this read and the insert would change the slot the new key must avoid.
        connection = get_row(organisation_pk, connection_id, lock=True)
        warehouse = _rotating(connection)
        slot = next(slot for slot in warehouse.KEY_SLOTS if slot != user_key(connection).slot)
        try:
            with database.atomic():
                rotation = KeyRotation.create(connection=connection.id, public_key=keys.public_key, key_slot=slot)
        except IntegrityError:
            raise RotationPending(connection.id) from None
        Secret.store(connection.id, PENDING_PRIVATE_KEY, keys.private_key_der)
    return _pending(connection, warehouse, rotation)


def get(organisation_pk: int, connection_id: str) -> PendingRotation:
    connection = get_row(organisation_pk, connection_id)
    return _pending(connection, warehouses.get(connection.type), _rotation_of(connection))


def cancel(organisation_pk: int, connection_id: str) -> None:
    """Discard the pending key pair; the connection keeps its key."""
    with database.atomic():
        # Locked, as by every change of a rotation (see connections.locked).
        connection = get_row(organisation_pk, connection_id, lock=True)
        point_of_no_return()
        if KeyRotation.delete().where(KeyRotation.connection == connection.id).execute() != 1:
            raise NoKeyRotation(connection.id)
        Secret.delete().where((Secret.connection == connection.id) & (Secret.name == PENDING_PRIVATE_KEY)).execute()


def complete(
    organisation_pk: int, connection_id: str, settings: Settings, pool: ConnectionTestPool
) -> CompletedRotation:
    """Log in with the new key on the test pool; if the warehouse accepts it, it becomes the connection's."""
    connection, rotation, config, steps = pool.run(lambda: _check_new_key(organisation_pk, connection_id, settings))
    failure = first_failure(steps)
    if failure is not None:
        raise KeyRejected(failure)
    warehouse = warehouses.get(connection.type)
    new_key = _new_key(rotation)
    cleanup_script = warehouse.cleanup_script(connection.id, config, user_key(connection))
    with database.atomic():
        point_of_no_return()
        # The connection at the revision it was checked with, and the rotation checked: else the check is stale. The
        # connection's row first, as start locks it: no deadlock.
        switched = (
            WarehouseConnection.update(
                public_key=new_key.public_key,
                key_slot=new_key.slot,
                setup_script=warehouse.setup_script(connection.id, config, new_key),
                # Tests running with the old key are stale now.
                revision=WarehouseConnection.revision + 1,
                updated_at=utc_now(),
            )
            .where((WarehouseConnection.id == connection.id) & (WarehouseConnection.revision == connection.revision))
            .execute()
        )
        taken = (
            KeyRotation.delete()
            .where((KeyRotation.connection == connection.id) & (KeyRotation.public_key == rotation.public_key))
            .execute()
        )
        if switched != 1 or taken != 1:
            raise StaleKeyCheck(connection.id)  # rolls back the transaction
        Secret.delete().where((Secret.connection == connection.id) & (Secret.name == PRIVATE_KEY)).execute()
        Secret.update(name=PRIVATE_KEY).where(
            (Secret.connection == connection.id) & (Secret.name == PENDING_PRIVATE_KEY)
        ).execute()
        # Read in the transaction, which holds the row: a delete right after it cannot take the answer away.
        return CompletedRotation(WarehouseConnection.get_by_id(connection.id).view(), cleanup_script)


def _check_new_key(organisation_pk: int, connection_id: str, settings: Settings):
    """On a thread of the test pool: read the rotation and its key, give the database connection back, log in."""
    with database.connection_context(), locked(organisation_pk, connection_id) as connection:
        rotation = _rotation_of(connection)
        warehouse = warehouses.get(connection.type)
        config = stored_config(connection, warehouse)
        private_key = Secret.reveal(connection.id, PENDING_PRIVATE_KEY)
    return (
        connection,
        rotation,
        config,
        warehouse.check_login(connection.id, config, _new_key(rotation), private_key, settings),
    )


def _rotating(connection: WarehouseConnection) -> KeyRotatingType:
    warehouse = warehouses.get(connection.type)
    if not rotates_keys(warehouse):
        raise NoKeyPair(connection)
    return warehouse


def _rotation_of(connection: WarehouseConnection) -> KeyRotation:
    rotation = KeyRotation.get_or_none(KeyRotation.connection == connection.id)
    if rotation is None:
        raise NoKeyRotation(connection.id)
    return rotation


def _pending(connection: WarehouseConnection, warehouse: KeyRotatingType, rotation: KeyRotation) -> PendingRotation:
    # The script names the connection's user as it is now: an edit keeps the rotation.
    script = warehouse.rotation_script(connection.id, stored_config(connection, warehouse), _new_key(rotation))
    return PendingRotation(_new_key(rotation), script, rotation.started_at)


def _new_key(rotation: KeyRotation) -> UserKey:
    return UserKey(rotation.public_key, rotation.key_slot)
