"""The answer to a query request: SELECT 1 and LIST @stage, the only statements a connection test runs."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from warehouse_connections.devtools.snowflake_emulator.wire import error, ok

if TYPE_CHECKING:
    from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator


def unquote_identifier(part: str) -> str:
    # Snowflake folds unquoted identifiers to upper case and keeps quoted ones verbatim.
    return part[1:-1] if part.startswith('"') and part.endswith('"') else part.upper()


def answer_query(
    emulator: SnowflakeEmulator, entry: dict[str, Any], token: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    sql = entry["sql"] = str(body.get("sqlText", ""))
    session = emulator._sessions.get(token or "")
    if session is None:
        return error("390111", "Session no longer exists.  New login required to access the service.")
    query_id = str(uuid.uuid4())
    if re.fullmatch(r"\s*select\s+1\s*;?\s*", sql, re.IGNORECASE):
        return rowset(query_id, [rowtype("1", "fixed")], [["1"]])
    match = re.fullmatch(
        r'\s*(?:list|ls)\s+@((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+)){0,2})\s*;?\s*', sql, re.IGNORECASE
    )
    if match is None:
        return error(
            "000002",
            f"Unsupported feature: the emulator cannot run {sql!r}.",
            {"errorCode": "000002", "sqlState": "0A000", "queryId": query_id},
        )
    parts = [unquote_identifier(p) for p in re.findall(r'"[^"]+"|[\w$]+', match.group(1))]
    # Unqualified names resolve against the session's current database and schema.
    stage = (session["databaseName"] or "", session["schemaName"] or "")[: 3 - len(parts)] + tuple(parts)
    if stage not in emulator._stages and not emulator.every_stage_exists:
        message = f"SQL compilation error:\nStage '{'.'.join(stage)}' does not exist or not authorized."
        return error("002003", message, {"errorCode": "002003", "sqlState": "02000", "queryId": query_id})
    # LIST's columns; a stage made by add_stage() is empty.
    columns = [
        rowtype(name, "fixed" if name == "size" else "text") for name in ("name", "size", "md5", "last_modified")
    ]
    return rowset(query_id, columns, [])


def rowtype(name: str, type_: str) -> dict[str, Any]:
    fixed = type_ == "fixed"  # NUMBER(38,0); anything else here is a VARCHAR
    return {
        "name": name,
        "type": type_,
        "nullable": True,
        "precision": 38 if fixed else None,
        "scale": 0 if fixed else None,
        "length": None if fixed else 16777216,
    }


def rowset(query_id: str, columns: list[dict[str, Any]], rows: list[list[str]]) -> dict[str, Any]:
    # 4096 is Snowflake's SELECT statement type; the connector uses it only to derive DML row counts.
    return ok(
        {
            "rowtype": columns,
            "rowset": rows,
            "total": len(rows),
            "returned": len(rows),
            "queryId": query_id,
            "queryResultFormat": "json",
            "statementTypeId": 4096,
            "parameters": [],
        }
    )
