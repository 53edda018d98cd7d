import importlib

import pytest
import yaml
from connexion.middleware import swagger_ui
from connexion.spec import Specification
from openapi_spec_validator import validate

from openapi import OPERATIONS_SPEC_PATH, SPEC_PATH

METHODS = {"get", "put", "post", "delete", "patch"}
SPEC_PATHS = pytest.mark.parametrize("path", [SPEC_PATH, OPERATIONS_SPEC_PATH], ids=["api", "operations"])


def load_spec(path=SPEC_PATH) -> dict:
    return yaml.safe_load(path.read_text())


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@SPEC_PATHS
def test_spec__validates_as_openapi_3_0_3(path):
    spec = load_spec(path)

    validate(spec)
    assert spec["openapi"] == "3.0.3"


def test_spec__passes_connexions_own_check():
    # The service skips this check at start-up (web/connexion_seam.spec_check_skipped): this test is where it runs.
    assert Specification.from_dict(load_spec()).version == (3, 0, 3)


@SPEC_PATHS
def test_spec__every_operation_id__resolves_to_a_handler(path):
    for template, method, operation in operations(load_spec(path)):
        module = importlib.import_module(operation["x-openapi-router-controller"])

        assert callable(getattr(module, operation["operationId"], None)), f"{method} {template}"


def test_spec__every_api_path__ends_with_a_slash():
    assert all(path.endswith("/") for path in load_spec()["paths"])


def without(keys: frozenset[str], node):
    if isinstance(node, dict):
        return {key: without(keys, value) for key, value in node.items() if key not in keys}
    return [without(keys, value) for value in node] if isinstance(node, list) else node


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/api/v1/openapi.json", SPEC_PATH),
        ("/api/v1/openapi.yaml", SPEC_PATH),
        ("/openapi-operations.json", OPERATIONS_SPEC_PATH),
        ("/openapi-operations.yaml", OPERATIONS_SPEC_PATH),
    ],
)
def test_spec__served__is_the_source_less_the_extensions_naming_our_code(anonymous_client, url, path):
    response = anonymous_client.get(url)

    assert response.status_code == 200
    served = response.json() if url.endswith(".json") else yaml.safe_load(response.text)
    assert served == without(
        frozenset({"x-openapi-router-controller", "x-apikeyInfoFunc", "x-bearerInfoFunc"}), load_spec(path)
    )
    assert "$ref" in response.text


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


@SPEC_PATHS
def test_spec__every_operation__has_id_summary_description_and_tags(path):
    for template, method, operation in operations(load_spec(path)):
        for field in ("operationId", "summary", "description", "tags"):
            assert operation.get(field), f"{method} {template} has no {field}"


@SPEC_PATHS
def test_spec__every_request_and_response_body__has_an_example(path):
    spec = load_spec(path)
    for template, method, operation in operations(spec):
        bodies = [("request", resolve(spec, operation["requestBody"]))] if "requestBody" in operation else []
        bodies += [(status, resolve(spec, response)) for status, response in operation["responses"].items()]
        for name, body in bodies:
            for media_type, content in body.get("content", {}).items():
                assert "example" in content or content.get("examples"), f"{method} {template} {name} {media_type}"


@SPEC_PATHS
def test_spec__every_error_response__is_problem_json(path):
    spec = load_spec(path)
    for template, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(resolve(spec, response)["content"]) == ["application/problem+json"], f"{method} {template}"


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML takes the last of duplicate keys silently; a spec with one says less than it seems to."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"duplicate keys {duplicates} at line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep=deep)


@SPEC_PATHS
def test_spec__yaml__has_no_duplicate_keys(path):
    assert yaml.load(path.read_text(), Loader=UniqueKeyLoader)["openapi"] == "3.0.3"


@SPEC_PATHS
def test_spec__every_operation_and_response__carries_x_request_id(path):
    spec = load_spec(path)
    for template, method, operation in operations(spec):
        parameters = [resolve(spec, p) for p in spec["paths"][template].get("parameters", [])]
        parameters += [resolve(spec, p) for p in operation.get("parameters", [])]
        assert ("header", "X-Request-ID") in {(p["in"], p["name"]) for p in parameters}, f"{method} {template}"
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in resolve(spec, response).get("headers", {}), f"{method} {template} {status}"


def test_swagger_ui__is_served(anonymous_client):
    response = anonymous_client.get("/api/v1/ui/")

    assert response.status_code == 200
    assert "swagger-ui" in response.text


@pytest.fixture
def swagger_ui_routed_paths(app, monkeypatch) -> list[str]:
    """The paths of the requests that go through the routes of connexion's Swagger UI middleware."""
    middleware = next(m for m in app.middleware.middleware_stack if isinstance(m, swagger_ui.SwaggerUIMiddleware))
    router, paths = middleware.router, []

    async def recording_router(scope, receive, send):
        paths.append(scope["path"])
        await router(scope, receive, send)

    monkeypatch.setattr(middleware, "router", recording_router)
    return paths


def test_swagger_ui_routes__are_skipped_by_requests_for_the_api(client, list_url, swagger_ui_routed_paths):
    assert client.get(list_url).status_code == 200
    assert client.get("/api/v1/ui/").status_code == 200
    assert client.get("/api/v1/nowhere").status_code == 404

    assert swagger_ui_routed_paths == ["/api/v1/ui/", "/api/v1/nowhere"]
