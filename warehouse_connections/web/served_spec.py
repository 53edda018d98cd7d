"""The contracts as consumers download them: the source YAML as written, less the extensions that name our code.

connexion would serve its own processed copy, every `$ref` inlined: generators run on that name their types
after operations (`ListConnections200ResponseInner`) instead of the schemas (`WarehouseConnection`).
"""

import functools

import orjson
import yaml
from flask import Response

# The x- extensions that bind the spec to this code base: for connexion, not for consumers.
OUR_EXTENSIONS = frozenset({"x-openapi-router-controller", "x-apikeyInfoFunc", "x-bearerInfoFunc"})


def without_our_extensions(node):
    if isinstance(node, dict):
        return {key: without_our_extensions(value) for key, value in node.items() if key not in OUR_EXTENSIONS}
    if isinstance(node, list):
        return [without_our_extensions(value) for value in node]
    return node


class ServedSpec:
    """One spec's served JSON and YAML, each written on its first request (not at start-up, which they would
    lengthen by ~6 ms)."""

    def __init__(self, spec: dict):
        self._served = without_our_extensions(spec)

    @functools.cached_property
    def _json(self) -> bytes:
        return orjson.dumps(self._served)

    @functools.cached_property
    def _yaml(self) -> str:
        return yaml.dump(self._served, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)

    def json(self) -> Response:
        return Response(self._json, mimetype="application/json")

    def yaml(self) -> Response:
        return Response(self._yaml, mimetype="text/yaml")

    def add_routes(self, flask_app, path_without_suffix: str) -> None:
        """GET `<path>.json` and `<path>.yaml`."""
        name = path_without_suffix.strip("/").replace("/", "_")
        flask_app.add_url_rule(f"{path_without_suffix}.json", f"{name}_json", self.json)
        flask_app.add_url_rule(f"{path_without_suffix}.yaml", f"{name}_yaml", self.yaml)
