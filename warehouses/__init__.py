"""Warehouse types: one module per type, each a `WarehouseType`, named in `REGISTRY`.

A new type is a new module here plus its create/patch schemas in the spec's `oneOf`.
"""

from warehouses import snowflake
from warehouses.base import InvalidConfig, WarehouseType

REGISTRY: dict[str, WarehouseType] = {snowflake.NAME: snowflake}


def get(name: str) -> WarehouseType:
    return REGISTRY[name]


__all__ = ["REGISTRY", "InvalidConfig", "WarehouseType", "get"]
