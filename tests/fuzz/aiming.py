"""Generated bodies (schemathesis, in process and CLI) aimed where the rules of state let them be accepted.

Rules no schema can state: a PUT or PATCH must be of the stored connection's type and keep the fields that say
which warehouse it is (account_identifier; host, port, database), and a PostgreSQL host must be allowed by the
SSRF guard. A PostgreSQL body is sent to a closed loopback port (the server allows private hosts), so a
connection test is refused at once and never reaches beyond this machine.
"""

CLOSED_HOST = "127.0.0.1"
IMMUTABLE_FIELDS = {"snowflake": ("account_identifier",), "postgresql": ("host", "port", "database")}
# The smallest valid create of each type (a PostgreSQL one aimed by `aim` like any other).
SMALLEST_CREATE = {
    "snowflake": {"type": "snowflake", "account_identifier": "xy12345.us-east-1"},
    "postgresql": {"type": "postgresql", "host": CLOSED_HOST, "database": "analytics"},
}
# A body of the other type becomes the smallest valid one of the stored type.
SMALLEST_PATCH = {"snowflake": {"warehouse": "COMPUTE_WH"}, "postgresql": {"type": "postgresql", "schema": "flagsmith"}}


def aim(method: str, body, stored_type: str | None, stored_config: dict | None, closed_port: int) -> None:
    if not isinstance(body, dict):
        return
    if method == "POST" and body.get("type") == "postgresql":
        body["host"], body["port"] = CLOSED_HOST, closed_port
    if stored_type is None:
        return
    body_type = body.get("type", "snowflake")
    if method == "PUT":
        if body_type != stored_type:
            body.clear()
            body["type"] = stored_type
        body.update({field: stored_config[field] for field in IMMUTABLE_FIELDS[stored_type]})
    elif method == "PATCH" and body_type != stored_type:
        body.clear()
        body.update(SMALLEST_PATCH[stored_type])
