"""The connect page's modules type-check against the spec: openapi-typescript's types of the spec (the toolchain and
pinned versions of tests/clients/typescript), `tsc --strict --checkJs --noEmit` over the page's JSDoc-typed modules.
A spec change that breaks the page fails here."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.browser.conftest import require

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "warehouse_connections" / "connect_page"
SPEC = ROOT / "openapi" / "warehouse-connections.yaml"
TOOLCHAIN = ROOT / "tests" / "clients" / "typescript"
COMPILER_OPTIONS = {
    "target": "ES2022",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "module": "ES2022",
    "moduleResolution": "Bundler",
    "allowJs": True,
    "checkJs": True,
    "noEmit": True,
    "strict": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "noImplicitReturns": True,
    "types": [],
    # types.js imports the spec's types as "wc-api".
    "paths": {"wc-api": ["./schema.d.ts"]},
}


def run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory) -> Path:
    """tests/clients/typescript's locked packages (typescript, openapi-typescript), installed in a folder of its own."""
    require(shutil.which("node") and shutil.which("npm"), "node and npm are needed for the page's type-check")
    project = tmp_path_factory.mktemp("connect-page-types")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(TOOLCHAIN / name, project / name)
    installed = run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], project, 300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return project


def type_check(project: Path, spec: Path) -> subprocess.CompletedProcess[str]:
    """Types from `spec`, then tsc over the page's modules."""
    # --default-non-nullable false: as the clients' check, so bodies may omit what has a default.
    generated = run(
        ["node", "node_modules/openapi-typescript/bin/cli.js", str(spec), "--default-non-nullable", "false"]
        + ["--output", "schema.d.ts"],
        project,
        120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    config = {"compilerOptions": COMPILER_OPTIONS, "include": [str(PAGE / "*.js")]}
    (project / "tsconfig.json").write_text(json.dumps(config))
    return run(["node", "node_modules/typescript/bin/tsc", "--pretty", "false", "-p", "tsconfig.json"], project, 180)


def test_connect_page_types__page_against_the_spec__checks_without_an_error(toolchain):
    checked = type_check(toolchain, SPEC)

    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_connect_page_types__spec_renames_a_field_the_page_reads__fails(toolchain, tmp_path):
    spec = yaml.safe_load(SPEC.read_text())
    connection = spec["components"]["schemas"]["SnowflakeConnection"]
    connection["properties"]["setup_sql"] = connection["properties"].pop("setup_script")
    connection["required"] = ["setup_sql" if name == "setup_script" else name for name in connection["required"]]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(spec))

    checked = type_check(toolchain, changed)

    # 2: tsc's exit status when the program has errors.
    assert checked.returncode == 2, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    # setup.js shows the script and reads the fingerprint's comment from it: every error is there, and names the field.
    assert {line.split("(")[0].rsplit("/", 1)[-1] for line in lines} == {"setup.js"}, checked.stdout
    assert all("error TS2339: Property 'setup_script' does not exist" in line for line in lines), checked.stdout
