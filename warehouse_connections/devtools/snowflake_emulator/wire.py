"""The JSON envelope every Snowflake API answer comes in."""

from __future__ import annotations

from typing import Any


def ok(data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": True, "code": None, "message": None, "data": data}


def error(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "data": data, "headers": None}
