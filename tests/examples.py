"""Example data the tests share: a connection's config, every API operation, API keys."""

from models import ApiKey, Organisation, database

# Every API operation as (method, path below the organisation's list URL), with a fixed example id.
API_OPERATIONS = [
    ("GET", ""),
    ("POST", ""),
    ("GET", "wc_abc123def456ghi7/"),
    ("PUT", "wc_abc123def456ghi7/"),
    ("PATCH", "wc_abc123def456ghi7/"),
    ("DELETE", "wc_abc123def456ghi7/"),
    ("POST", "wc_abc123def456ghi7/test/"),
    ("GET", "wc_abc123def456ghi7/tests/"),
    ("POST", "wc_abc123def456ghi7/key-rotation/"),
    ("GET", "wc_abc123def456ghi7/key-rotation/"),
    ("DELETE", "wc_abc123def456ghi7/key-rotation/"),
    ("POST", "wc_abc123def456ghi7/key-rotation/complete/"),
]

SEED_CONFIG = {
    "account_identifier": "xy12345.us-east-1",
    "warehouse": "COMPUTE_WH",
    "database": "FLAGSMITH",
    "schema": "ANALYTICS",
    "role": "FLAGSMITH_LOADER",
    "user": "FLAGSMITH_SERVICE",
}


def issue_key(organisation: Organisation, read_only: bool = False) -> str:
    with database.connection_context():
        return ApiKey.issue(organisation.id, "test key", read_only=read_only)[1]
