"""Warehouse types: one package per type, each a `WarehouseType`, named in `REGISTRY`.

A new type is a new package here plus its create, patch and response schemas in the spec's `oneOf`s.
"""

from warehouses import postgresql, snowflake
from warehouses.base import InvalidConfig, WarehouseType

REGISTRY: dict[str, WarehouseType] = {snowflake.NAME: snowflake, postgresql.NAME: postgresql}


def get(name: str) -> WarehouseType:
    return REGISTRY[name]


def type_of_patch(body: dict) -> str:
    """Which type a PATCH body is for: Snowflake's patch predates the other types and names none."""
    return body.get("type", snowflake.NAME)


__all__ = ["REGISTRY", "InvalidConfig", "WarehouseType", "get", "type_of_patch"]
