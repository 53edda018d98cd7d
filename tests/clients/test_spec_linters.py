"""The linters consumers run on a spec, Redocly's and Spectral's recommended rules, on the source and on what
the server serves: no errors in either (tests/clients/speclint holds their locked versions and settings).
"""

import shutil
from pathlib import Path

import pytest

from openapi import OPERATIONS_SPEC_PATH, SPEC_PATH
from tests.clients.conftest import require, run

pytestmark = pytest.mark.clients

LINT_PROJECT = Path(__file__).resolve().parent / "speclint"


@pytest.fixture(scope="module")
def linters(tmp_path_factory) -> Path:
    """A copy of tests/clients/speclint with its locked packages installed."""
    require(shutil.which("npm"), "npm is not on PATH (the spec linters install with it)")
    project = tmp_path_factory.mktemp("speclint") / "project"
    shutil.copytree(LINT_PROJECT, project, ignore=shutil.ignore_patterns("node_modules"))
    run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        "npm ci",
        cwd=project,
        timeout=300,
    )
    return project


def spec_locations(served_spec_url: str) -> list[str]:
    return [
        str(SPEC_PATH),
        str(OPERATIONS_SPEC_PATH),
        served_spec_url,
        served_spec_url.replace("/api/v1/openapi.json", "/openapi-operations.json"),
    ]


def test_redocly__recommended_rules__find_no_error_in_the_source_or_the_served_specs(linters, served_spec_url):
    for location in spec_locations(served_spec_url):
        result = run(
            ["node", "node_modules/@redocly/cli/bin/cli.js", "lint", "--config", "redocly.yaml", location],
            f"redocly lint {location}",
            cwd=linters,
            timeout=120,
        )

        assert "Your API description is valid" in result.stdout + result.stderr


def test_spectral__oas_rules__find_no_error_in_the_source_or_the_served_specs(linters, served_spec_url):
    for location in spec_locations(served_spec_url):
        result = run(
            ["node", "node_modules/@stoplight/spectral-cli/dist/index.js", "lint", "--ruleset", ".spectral.yaml"]
            + ["--fail-severity", "error", location],
            f"spectral lint {location}",
            cwd=linters,
            timeout=120,
        )

        assert "No results with a severity of 'error' found!" in result.stdout
