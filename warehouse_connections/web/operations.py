"""Which operation of the spec a request is for, by method and path: for logs, metrics and tests."""

import re
from typing import NamedTuple

METHODS = ("get", "put", "post", "delete", "patch")


class Operation(NamedTuple):
    operation_id: str
    route: str  # the path template, e.g. /api/v1/organisations/{organisation_pk}/…


class OperationIndex:
    def __init__(self, spec: dict, base_path: str):
        self._operations = []
        for template, item in spec["paths"].items():
            route = path_base(item, base_path) + template
            for method, op in item.items():
                if method in METHODS:
                    self._operations.append(
                        (method.upper(), _template_regex(route), Operation(op["operationId"], route))
                    )

    def find(self, method: str, path: str) -> Operation | None:
        return next((op for m, pattern, op in self._operations if m == method and pattern.fullmatch(path)), None)

    def methods(self, path: str) -> list[str]:
        """The methods the spec documents for this path (HEAD with GET), in the spec's order."""
        methods = [method for method, pattern, _ in self._operations if pattern.fullmatch(path)]
        return [*methods, "HEAD"] if "GET" in methods else methods


def path_base(item: dict, base_path: str) -> str:
    """A path's own `servers` (the probes, served at the root) override the API's base path."""
    return item["servers"][0]["url"].rstrip("/") if "servers" in item else base_path


def _template_regex(template: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)))
