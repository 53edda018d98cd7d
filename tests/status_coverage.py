"""Every status the spec documents for an operation is answered by at least one test.

The session's app records (operationId, status) for every response; with WC_REQUIRE_STATUS_COVERAGE
set (tox sets it for whole-suite runs), the session fails when a documented pair was never seen.
"""

import os

import yaml

from openapi import SPEC_PATH
from warehouse_connections.app import BASE_PATH
from warehouse_connections.web.operations import METHODS, OperationIndex

observed: set[tuple[str, int]] = set()


def documented_pairs() -> set[tuple[str, int]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {
        (operation["operationId"], int(status))
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
        for status in operation["responses"]
    }


class StatusRecorder:
    """ASGI middleware, outermost: sees the status every request finally got."""

    def __init__(self, app):
        self.app = app
        self.operations = OperationIndex(yaml.safe_load(SPEC_PATH.read_text()), BASE_PATH)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        operation = self.operations.find(scope["method"], scope["path"])

        async def record(message):
            if operation is not None and message["type"] == "http.response.start":
                observed.add((operation.operation_id, message["status"]))
            await send(message)

        await self.app(scope, receive, record)


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("WC_REQUIRE_STATUS_COVERAGE") or exitstatus != 0:
        return
    missing = sorted(documented_pairs() - observed)
    if missing:
        print("\nDocumented statuses no test received:\n" + "\n".join(f"  {op} {status}" for op, status in missing))
        session.exitstatus = 1
