"""The API's JSON form of a connection and of a connection test's result: the one place that writes them."""

import datetime
from dataclasses import asdict

import orjson

from models.warehouse_connection import ConnectionView
from warehouses.connections import ConnectionTestRecord, ConnectionTestResult


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


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
