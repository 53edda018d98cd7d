"""The answer to a query request: the statements a connection test runs, and their failures as Snowflake words them.

Answered: SELECT 1; SELECT CURRENT_WAREHOUSE(), CURRENT_DATABASE(), CURRENT_SCHEMA(); LIST @stage;
COPY INTO @stage/prefix/ FROM (SELECT …); REMOVE @stage/prefix/; CREATE TEMPORARY TABLE, INSERT INTO and
DROP TABLE [IF EXISTS] of a table; DESC USER of the session's own user (its keys' fingerprints). Errors carry
Snowflake's code, sqlstate and wording.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from warehouse_connections.devtools.snowflake_emulator.keys import KEY_SLOTS
from warehouse_connections.devtools.snowflake_emulator.wire import error, ok

if TYPE_CHECKING:
    from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator

NAME = r'(?:"[^"]+"|[\w$]+)'
QUALIFIED = rf"{NAME}(?:\.{NAME}){{0,2}}"
# A stage location: @stage, optionally followed by /path/.
LOCATION = rf"@({QUALIFIED})(/[\w/.-]*)?"
SELECT_1 = re.compile(r"\s*select\s+1\s*;?\s*", re.IGNORECASE)
SELECT_CONTEXT = re.compile(
    r"\s*select\s+current_warehouse\(\)\s*,\s*current_database\(\)\s*,\s*current_schema\(\)\s*;?\s*", re.IGNORECASE
)
LIST = re.compile(rf"\s*(?:list|ls)\s+{LOCATION}\s*;?\s*", re.IGNORECASE)
COPY_INTO = re.compile(rf"\s*copy\s+into\s+{LOCATION}\s+from\s+\(.*\)\s*;?\s*", re.IGNORECASE | re.DOTALL)
REMOVE = re.compile(rf"\s*(?:remove|rm)\s+{LOCATION}\s*;?\s*", re.IGNORECASE)
CREATE_TABLE = re.compile(rf"\s*create\s+temporary\s+table\s+({QUALIFIED})\s*\(.*\)\s*;?\s*", re.IGNORECASE)
INSERT = re.compile(rf"\s*insert\s+into\s+({QUALIFIED})\s.*", re.IGNORECASE | re.DOTALL)
DESCRIBE_USER = re.compile(rf"\s*desc(?:ribe)?\s+user\s+({NAME})\s*;?\s*", re.IGNORECASE)
DROP_TABLE = re.compile(rf"\s*drop\s+table\s+(?:if\s+exists\s+)?({QUALIFIED})\s*;?\s*", re.IGNORECASE)
# Snowflake's statement type families; the connector derives row counts from them.
SELECT_TYPE, DML_TYPE, DDL_TYPE, FILE_TYPE = 0x1000, 0x3100, 0x6100, 0x7300


def unquote_identifier(part: str) -> str:
    # Snowflake folds unquoted identifiers to upper case and keeps quoted ones verbatim.
    return part[1:-1] if part.startswith('"') and part.endswith('"') else part.upper()


class Refused(Exception):
    """A statement Snowflake refuses: its code, sqlstate and message."""

    def __init__(self, code: str, sql_state: str, message: str):
        super().__init__(message)
        self.code, self.sql_state, self.message = code, sql_state, message


def answer_query(
    emulator: SnowflakeEmulator, entry: dict[str, Any], token: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    sql = entry["sql"] = str(body.get("sqlText", ""))
    session = emulator._sessions.get(token or "")
    if session is None:
        return error("390111", "Session no longer exists.  New login required to access the service.")
    query_id = str(uuid.uuid4())
    entry["query_tag"] = session["queryTag"]
    try:
        columns, rows, statement_type = _run(emulator, session, sql)
    except Refused as refused:
        data = {"errorCode": refused.code, "sqlState": refused.sql_state, "queryId": query_id}
        return error(refused.code, refused.message, data)
    return rowset(query_id, columns, rows, statement_type)


def _run(emulator: SnowflakeEmulator, session: dict[str, Any], sql: str) -> tuple[list, list, int]:
    if SELECT_1.fullmatch(sql):
        return [rowtype("1", "fixed")], [["1"]], SELECT_TYPE
    if SELECT_CONTEXT.fullmatch(sql):
        names = ("CURRENT_WAREHOUSE()", "CURRENT_DATABASE()", "CURRENT_SCHEMA()")
        values = [session[key] for key in ("warehouseName", "databaseName", "schemaName")]
        return [rowtype(name, "text") for name in names], [values], SELECT_TYPE
    if match := LIST.fullmatch(sql):
        stage = _usable_stage(emulator, session, match.group(1), "read")
        columns = [
            rowtype(name, "fixed" if name == "size" else "text") for name in ("name", "size", "md5", "last_modified")
        ]
        files = sorted(emulator._stage_files.get(stage, ()))
        return columns, [[name, "16", "0" * 32, "Mon, 1 Jan 2026 00:00:00 GMT"] for name in files], FILE_TYPE
    if match := COPY_INTO.fullmatch(sql):
        _running_warehouse(emulator, session)
        stage = _usable_stage(emulator, session, match.group(1), "write")
        emulator._stage_files.setdefault(stage, set()).add(f"{(match.group(2) or '/').strip('/')}/data_0_0_0.csv.gz")
        columns = [rowtype(name, "fixed") for name in ("rows_unloaded", "input_bytes", "output_bytes")]
        return columns, [["1", "2", "22"]], DML_TYPE
    if match := REMOVE.fullmatch(sql):
        stage = _usable_stage(emulator, session, match.group(1), "write")
        prefix = (match.group(2) or "/").lstrip("/")
        removed = sorted(name for name in emulator._stage_files.get(stage, ()) if name.startswith(prefix))
        emulator._stage_files.get(stage, set()).difference_update(removed)
        return [rowtype("name", "text"), rowtype("result", "text")], [[n, "removed"] for n in removed], FILE_TYPE
    if match := CREATE_TABLE.fullmatch(sql):
        table = _qualified(session, match.group(1))
        if "create_table" in emulator.denied:
            raise Refused(
                "003001",
                "42501",
                f"SQL access control error:\nInsufficient privileges to operate on schema '{table[1]}'",
            )
        session["tables"].add(table)
        return [rowtype("status", "text")], [[f"Table {table[2]} successfully created."]], DDL_TYPE
    if match := INSERT.fullmatch(sql):
        table = _qualified(session, match.group(1))
        if table not in session["tables"]:
            raise Refused(
                "002003",
                "42S02",
                f"SQL compilation error:\nTable '{'.'.join(table)}' does not exist or not authorized.",
            )
        return [rowtype("number of rows inserted", "fixed")], [["1"]], DML_TYPE
    if match := DROP_TABLE.fullmatch(sql):
        table = _qualified(session, match.group(1))
        session["tables"].discard(table)
        return [rowtype("status", "text")], [[f"{table[2]} successfully dropped."]], DDL_TYPE
    if match := DESCRIBE_USER.fullmatch(sql):
        return _describe_user(emulator, session, unquote_identifier(match.group(1)))
    raise Refused("000002", "0A000", f"Unsupported feature: the emulator cannot run {sql!r}.")


def _describe_user(emulator: SnowflakeEmulator, session: dict[str, Any], user: str) -> tuple[list, list, int]:
    """The key properties of DESC USER; a user may always describe itself, and here no one else."""
    account, own_user = session["user"]
    if user != own_user:
        raise Refused("002003", "02000", f"SQL compilation error:\nUser '{user}' does not exist or not authorized.")
    fingerprints = emulator.public_keys(account, user)
    columns = [rowtype(name, "text") for name in ("property", "value", "default", "description")]
    rows = [
        [f"{slot}_FP", fingerprints.get(slot, "null"), "null", "Fingerprint of user's RSA public key."]
        for slot in KEY_SLOTS
    ]
    return columns, rows, SELECT_TYPE


def _qualified(session: dict[str, Any], name: str) -> tuple[str, ...]:
    parts = [unquote_identifier(p) for p in re.findall(NAME, name)]
    # Unqualified names resolve against the session's current database and schema.
    return (session["databaseName"] or "", session["schemaName"] or "")[: 3 - len(parts)] + tuple(parts)


def _usable_stage(emulator: SnowflakeEmulator, session: dict[str, Any], name: str, access: str) -> tuple[str, ...]:
    stage = _qualified(session, name)
    if stage not in emulator._stages and not emulator.every_stage_exists:
        message = f"SQL compilation error:\nStage '{'.'.join(stage)}' does not exist or not authorized."
        raise Refused("002003", "02000", message)
    if f"stage_{access}" in emulator.denied:
        raise Refused(
            "003001", "42501", f"SQL access control error:\nInsufficient privileges to operate on stage '{stage[2]}'"
        )
    return stage


def _running_warehouse(emulator: SnowflakeEmulator, session: dict[str, Any]) -> None:
    """A statement that needs compute: the session's warehouse must be there and able to resume."""
    if session["warehouseName"] is None:
        raise Refused(
            "000606",
            "57P03",
            "No active warehouse selected in the current session.  Select an active warehouse with the 'use "
            "warehouse' command.",
        )
    if emulator.warehouse_cannot_resume:
        raise Refused(
            "090073",
            "22000",
            f"Warehouse '{session['warehouseName']}' cannot be resumed because resource monitor 'FLAGSMITH_MONITOR' "
            "has exceeded its quota.",
        )


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


def rowset(
    query_id: str, columns: list[dict[str, Any]], rows: list[list[str | None]], statement_type: int
) -> dict[str, Any]:
    return ok(
        {
            "rowtype": columns,
            "rowset": rows,
            "total": len(rows),
            "returned": len(rows),
            "queryId": query_id,
            "queryResultFormat": "json",
            "statementTypeId": statement_type,
            "parameters": [],
        }
    )
