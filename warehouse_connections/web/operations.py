"""Which operation of the specs a request is for, by method and path: for logs, metrics and tests."""

import re
from typing import NamedTuple

METHODS = ("get", "put", "post", "delete", "patch")


class Operation(NamedTuple):
    operation_id: str
    route: str  # the path template, e.g. /api/v1/organisations/{organisation_pk}/…


class OperationIndex:
    def __init__(self, *specs: dict):
        self._operations = []
        for spec in specs:
            for template, item in spec["paths"].items():
                route = base_path(spec) + template
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


def base_path(spec: dict) -> str:
    """Where the spec's paths are served: its server URL's path, without a trailing slash."""
    return spec["servers"][0]["url"].rstrip("/")


def _template_regex(template: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)))
