"""What the flows of the generated Python clients share: the connection they create and the answers they
expect, comparing a parsed model with the body it came from, and installing and importing a generated package.

Every flow creates a connection, lists, gets, replaces (PUT) and patches it, runs its setup script on the
Snowflake emulator, tests it, deletes it, then gets a 404 and two 401s.
"""

import contextlib
import importlib
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.clients.conftest import run

ACCOUNT = "xy12345.us-east-1"
DEFAULT_CONFIG = {
    "account_identifier": ACCOUNT,
    "warehouse": "COMPUTE_WH",
    "database": "FLAGSMITH",
    "schema": "ANALYTICS",
    "role": "FLAGSMITH_LOADER",
    "user": "FLAGSMITH_SERVICE",
}
# After the PUT (warehouse) and the PATCH (role) of every flow.
UPDATED_CONFIG = {**DEFAULT_CONFIG, "warehouse": "LOAD_WH", "role": "LOAD_ROLE"}
UNKNOWN_KEY = "wck_" + "0" * 43
# The connection test's steps, in order (the spec's ConnectionTestStep.name).
STEP_NAMES = ["reach_host", "log_in", "use_warehouse", "read_stage", "write_stage", "create_table"]
TIMESTAMP_FIELDS = frozenset({"created_at", "last_tested_at", "tested_at"})
CONNECTION_ID = re.compile(r"wc_[a-z0-9]{16,}")


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


def not_found(organisation_id: int, connection_id: str) -> dict[str, Any]:
    return problem(404, "Not Found", f"No warehouse connection '{connection_id}' in organisation {organisation_id}.")


def location(organisation_id: int, connection_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/integrations/warehouse-connections/{connection_id}/"


NO_KEY = problem(401, "Unauthorized", "No authorization token provided")
BAD_KEY = problem(401, "Unauthorized", "The API key is unknown or revoked.")


def user_may_only_read(organisation_id: int) -> dict[str, Any]:
    """The 403 of a bearer token whose role in the organisation is `user`, on a write."""
    return problem(
        403, "Forbidden", f"This token's role in organisation {organisation_id} is 'user', which may only read."
    )


def canonical(value: Any) -> Any:
    """JSON with its timestamps in one spelling (`…Z` and `…+00:00` are the same instant)."""
    if isinstance(value, dict):
        return {
            key: datetime.fromisoformat(item).isoformat()
            if key in TIMESTAMP_FIELDS and isinstance(item, str)
            else canonical(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def assert_utc_second(moment: datetime) -> None:
    assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0
    assert moment.microsecond == 0
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 300


def pip_install(project: Path, target: Path) -> None:
    """Installs a generated project (its dependencies are the test environment's) into its own folder."""
    run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
        + ["--target", str(target), str(project)],
        f"pip install {project.name}",
        timeout=300,
    )


@contextlib.contextmanager
def imported_from(site: Path, package: str) -> Iterator[ModuleType]:
    """`package`, imported from `site` while in use; forgotten afterwards, so no later test imports it by accident."""
    sys.path.insert(0, str(site))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(site))
        for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
            del sys.modules[name]
