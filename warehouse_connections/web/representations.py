"""The API's JSON form of connections, test results and key rotations: the one place that writes them."""

import datetime
from dataclasses import asdict

import orjson

from models.warehouse_connection import ConnectionView
from warehouses import key_pair
from warehouses.connections import ConnectionTestRecord, ConnectionTestResult
from warehouses.key_rotations import CompletedRotation, PendingRotation


def connection(view: ConnectionView) -> dict:
    """For orjson; `config` is the stored JSON text, embedded unparsed."""
    return {
        "id": view.id,
        "type": view.type,
        "status": view.status,
        "config": orjson.Fragment(view.config),
        # A type without a key pair stores none (warehouses.connections.NO_PUBLIC_KEY).
        "public_key": view.public_key or None,
        "setup_script": view.setup_script,
        "created_at": timestamp(view.created_at),
        "last_tested_at": timestamp(view.last_tested_at),
        "last_error": view.last_error,
    }


def test_result(result: ConnectionTestResult) -> dict:
    document = {"success": result.error is None, "tested_at": timestamp(result.tested_at)}
    if result.error is not None:
        document["error"] = result.error
    return {**document, "steps": [asdict(step) for step in result.steps]}


def test_record(record: ConnectionTestRecord) -> dict:
    return {"tested_by": record.tested_by, "result": test_result(record.result)}


def key_rotation(rotation: PendingRotation) -> dict:
    return {
        "public_key": rotation.key.public_key,
        "public_key_fingerprint": key_pair.fingerprint(rotation.key.public_key),
        "key_slot": rotation.key.slot,
        "rotation_script": rotation.rotation_script,
        "started_at": timestamp(rotation.started_at),
    }


def completed_rotation(completed: CompletedRotation) -> dict:
    return {"connection": connection(completed.connection), "cleanup_script": completed.cleanup_script}


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
