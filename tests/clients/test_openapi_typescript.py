"""A TypeScript client from openapi-typescript (types of the spec, openapi/warehouse-connections.yaml) and
openapi-fetch: typescript/flow.ts compiles with tsc --strict and drives the running service through the whole
flow of a connection; typescript/must_not_compile.ts shows that calls the spec does not allow fail to compile.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import STAGE, emulated_login, excerpt, require, run

pytestmark = pytest.mark.clients

TYPESCRIPT_PROJECT = Path(__file__).resolve().parent / "typescript"


@pytest.fixture(scope="module")
def typescript_project(tmp_path_factory, served_spec_url) -> Path:
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
        ["node", "node_modules/openapi-typescript/bin/cli.js", served_spec_url, "--default-non-nullable", "false"]
        + ["--output", "schema.d.ts"],
        f"openapi-typescript {served_spec_url}",
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
    "test history",
    "get, connected",
    "delete",
    "get, deleted: 404",
    "list without a key: 401",
    "list with an unknown key: 401",
    "list with an admin's bearer token",
    "create with a user's bearer token: 403",
    "list with a junk bearer token: 401, and why",
]


def test_openapi_typescript__flow_program__compiles_strictly_and_passes_against_the_service(
    typescript_project, api_root, api_key, organisation, snowflake_emulator, emulator_setup_url, mint
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
            "WC_ADMIN_TOKEN": mint(organisation.id),
            "WC_USER_TOKEN": mint(organisation.id, "user"),
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
    statements = [entry["sql"] for entry in snowflake_emulator.requests if "sql" in entry]
    assert [statement.split(" ")[0] for statement in statements] == [
        "SELECT",
        "LIST",
        "COPY",
        "REMOVE",
        "CREATE",
        "INSERT",
        "DROP",
    ]
    assert statements[1] == f'LIST @"FLAGSMITH"."ANALYTICS"."{STAGE}"'


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
