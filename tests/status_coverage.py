"""Every status the spec documents for an operation is answered by at least one test.

The session's app records (operationId, status) for every response; with WC_REQUIRE_STATUS_COVERAGE
set (tox sets it for whole-suite runs), the session fails when a documented pair was never seen.
"""

import os

import yaml

from warehouse_connections.app import SPECS
from warehouse_connections.web.operations import METHODS, OperationIndex

observed: set[tuple[str, int]] = set()


def load_specs() -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in SPECS]


def documented_pairs() -> set[tuple[str, int]]:
    return {
        (operation["operationId"], int(status))
        for spec in load_specs()
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
        for status in operation["responses"]
    }


class StatusRecorder:
    """ASGI middleware, outermost: sees the status every request finally got."""

    def __init__(self, app):
        self.app = app
        self.operations = OperationIndex(*load_specs())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def record(message):
            if message["type"] == "http.response.start":
                observed.update((operation_id, message["status"]) for operation_id in self._answered(scope, message))
            await send(message)

        await self.app(scope, receive, record)

    def _answered(self, scope, message) -> list[str]:
        """The operations whose documented statuses this answer counts for."""
        operation = self.operations.find(scope["method"], scope["path"])
        if operation is not None:
            return [operation.operation_id]
        if message["status"] != 405:
            return []
        # A method the path does not take: the 405 its operations document.
        methods = [method for method in self.operations.methods(scope["path"]) if method != "HEAD"]
        return [self.operations.find(method, scope["path"]).operation_id for method in methods]


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("WC_REQUIRE_STATUS_COVERAGE") or exitstatus != 0:
        return
    missing = sorted(documented_pairs() - observed)
    if missing:
        print("\nDocumented statuses no test received:\n" + "\n".join(f"  {op} {status}" for op, status in missing))
        session.exitstatus = 1
