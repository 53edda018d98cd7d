"""The client openapi-python-client generates from the spec (openapi/warehouse-connections.yaml) drives the
running service through the whole flow of a connection and parses every answer into its typed models.
"""

import importlib.util
import json
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


@pytest.fixture(scope="module")
def opc(tmp_path_factory, served_spec_url) -> Iterator[ModuleType]:
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
        [sys.executable, "-m", "openapi_python_client", "generate", "--url", served_spec_url]
        + ["--output-path", str(work / "project"), "--meta", "setup", "--config", str(config), "--fail-on-warning"],
        f"openapi-python-client generate --url {served_spec_url}",
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
    opc, api_root, api_key, organisation, snowflake_emulator, mint
):
    from wc_opc import AuthenticatedClient, Client
    from wc_opc.api.warehouse_connections import (
        create_connection,
        delete_connection,
        get_connection,
        list_connection_tests,
        list_connections,
        patch_connection,
        test_connection,
        update_connection,
    )
    from wc_opc.models import (
        ConnectionStatus,
        ConnectionTestPassed,
        Problem,
        SnowflakeConnection,
        SnowflakeConnectionCreate,
        SnowflakeConnectionCreateType,
        SnowflakeConnectionPatch,
        SnowflakeConnectionType,
        TestConnectionBody,
    )

    org = organisation.id
    # raise_on_unexpected_status: a status the spec does not list (a 307 to a slashed path, say) raises.
    client = AuthenticatedClient(base_url=api_root, token=api_key, prefix="Api-Key", raise_on_unexpected_status=True)

    assert opc_parsed(list_connections.sync_detailed(org, client=client), 200, SnowflakeConnection, many=True) == []

    body = SnowflakeConnectionCreate(type_=SnowflakeConnectionCreateType.SNOWFLAKE, account_identifier=ACCOUNT)
    response = create_connection.sync_detailed(org, client=client, body=body)
    created = opc_parsed(response, 201, SnowflakeConnection)
    assert CONNECTION_ID.fullmatch(created.id)
    assert response.headers["Location"] == location(org, created.id)
    assert (created.type_, created.status) == (
        SnowflakeConnectionType.SNOWFLAKE,
        ConnectionStatus.PENDING_CUSTOMER_SETUP,
    )
    assert created.config.to_dict() == DEFAULT_CONFIG
    assert_utc_second(created.created_at)
    assert (created.last_tested_at, created.last_error) == (None, None)

    listed = opc_parsed(list_connections.sync_detailed(org, client=client), 200, SnowflakeConnection, many=True)
    assert listed == [created]
    assert opc_parsed(get_connection.sync_detailed(org, created.id, client=client), 200, SnowflakeConnection) == created

    body = SnowflakeConnectionCreate(
        type_=SnowflakeConnectionCreateType.SNOWFLAKE, account_identifier=ACCOUNT, warehouse="LOAD_WH"
    )
    put = opc_parsed(
        update_connection.sync_detailed(org, created.id, client=client, body=body), 200, SnowflakeConnection
    )
    assert put.config.to_dict() == {**DEFAULT_CONFIG, "warehouse": "LOAD_WH"}
    assert "LOAD_WH" in put.setup_script
    patched = opc_parsed(
        patch_connection.sync_detailed(org, created.id, client=client, body=SnowflakeConnectionPatch(role="LOAD_ROLE")),
        200,
        SnowflakeConnection,
    )
    assert patched.config.to_dict() == UPDATED_CONFIG
    for updated in (put, patched):
        assert (updated.id, updated.type_, updated.status, updated.public_key, updated.created_at) == (
            created.id,
            SnowflakeConnectionType.SNOWFLAKE,
            ConnectionStatus.PENDING_CUSTOMER_SETUP,
            created.public_key,
            created.created_at,
        )
        assert (updated.last_tested_at, updated.last_error) == (None, None)

    run_setup_script(snowflake_emulator, patched.to_dict())
    response = test_connection.sync_detailed(
        org, created.id, client=client, body=TestConnectionBody(), x_request_id="opc.test-1"
    )
    assert response.headers["X-Request-ID"] == "opc.test-1"
    result = opc_parsed(response, 200, ConnectionTestPassed)
    assert result.success is True
    assert_utc_second(result.tested_at)
    assert [(step.name, step.status, step.code) for step in result.steps] == [
        (name, "passed", None) for name in STEP_NAMES
    ]

    history = list_connection_tests.sync_detailed(org, created.id, client=client)
    assert response.status_code == 200
    assert [(record.tested_by, record.result) for record in history.parsed] == [(api_key[:12], result)]
    login = emulated_login(snowflake_emulator)
    assert login["authenticated"] is True
    assert (login["params"]["warehouse"], login["params"]["roleName"]) == ("LOAD_WH", "LOAD_ROLE")

    connected = opc_parsed(get_connection.sync_detailed(org, created.id, client=client), 200, SnowflakeConnection)
    assert (connected.status, connected.last_tested_at, connected.last_error) == (
        ConnectionStatus.CONNECTED,
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

    # A dashboard user's session: the client's default prefix is Bearer.
    admin = AuthenticatedClient(base_url=api_root, token=mint(org), raise_on_unexpected_status=True)
    assert opc_parsed(list_connections.sync_detailed(org, client=admin), 200, SnowflakeConnection, many=True) == []
    user = AuthenticatedClient(base_url=api_root, token=mint(org, "user"), raise_on_unexpected_status=True)
    body = SnowflakeConnectionCreate(type_=SnowflakeConnectionCreateType.SNOWFLAKE, account_identifier=ACCOUNT)
    refused = opc_parsed(create_connection.sync_detailed(org, client=user, body=body), 403, Problem)
    assert refused.to_dict() == user_may_only_read(org)
