"""The `warehouse-connections` command, run as a user runs it: a separate process on the test database."""

import argparse
import gc
import os
import subprocess
import sys

import connexion
import httpx
import pytest

from models import ApiKey, Organisation, WarehouseConnection, database
from tests.processes import free_port, wait_until_up
from warehouse_connections import cli, launch, startup


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["organisations", "create"],
        ["organisations", "list"],
        ["api-keys", "create"],
        ["api-keys", "list"],
        ["api-keys", "revoke"],
    ],
)
def test_cli__help__is_available_on_every_command(run, command):
    result = run(*command, "--help")

    assert result.stdout.startswith("usage: warehouse-connections")


def test_cli__organisations_create__prints_the_new_id_alone(run):
    result = run("organisations", "create", "--name", "Acme")

    with database.connection_context():
        organisation = Organisation.get(Organisation.name == "Acme")
    assert result.stdout == f"{organisation.id}\n"


def test_cli__organisations_list__prints_id_and_name(run, organisation, other_organisation):
    result = run("organisations", "list")

    assert result.stdout == f"{organisation.id}\tAcme\n{other_organisation.id}\tGlobex\n"


def test_cli__api_keys_create__prints_a_key_that_works(run, app, organisation, list_url):
    key = run("api-keys", "create", "--organisation", str(organisation.id), "--name", "ci").stdout.strip()

    response = app.test_client().get(list_url, headers={"Authorization": f"Api-Key {key}"})

    assert response.status_code == 200
    with database.connection_context():
        assert ApiKey.get(ApiKey.prefix == key[:12]).read_only is False


def test_cli__api_keys_create_read_only__stores_a_read_only_key(run, organisation):
    key = run("api-keys", "create", "--organisation", str(organisation.id), "--read-only").stdout.strip()

    with database.connection_context():
        assert ApiKey.get(ApiKey.prefix == key[:12]).read_only is True


def test_cli__api_keys_create_for_unknown_organisation__fails_clearly(run):
    result = run("api-keys", "create", "--organisation", "999999", check=False)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.endswith("error: no organisation 999999\n")


def test_cli__api_keys_list__shows_prefixes_never_keys(run, organisation, api_key, read_only_api_key):
    result = run("api-keys", "list", "--organisation", str(organisation.id))

    assert result.stdout == (
        f"{api_key[:12]}\tfull\tactive\ttest key\n{read_only_api_key[:12]}\tread-only\tactive\ttest key\n"
    )
    assert api_key not in result.stdout


def test_cli__api_keys_revoke__stops_the_key_working(run, app, api_key, list_url):
    result = run("api-keys", "revoke", api_key[:12])

    response = app.test_client().get(list_url, headers={"Authorization": f"Api-Key {api_key}"})
    assert result.stdout == f"revoked {api_key[:12]}\n"
    assert response.status_code == 401


def test_cli__api_keys_revoke_unknown_prefix__fails_clearly(run):
    result = run("api-keys", "revoke", "wck_nothere", check=False)

    assert result.returncode == 2
    assert result.stderr.endswith("error: no active API key with prefix 'wck_nothere'\n")


def test_cli__bad_database_url__fails_clearly(run):
    result = subprocess.run(
        [sys.executable, "-m", "warehouse_connections", "organisations", "list"],
        env={**run.env, "DATABASE_URL": "mysql://nowhere/x"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr == "error: DATABASE_URL must start with sqlite:/// or postgresql://, not 'mysql'\n"


def test_cli__serve_on_empty_database__bootstraps_an_organisation_and_a_working_key(run):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "warehouse_connections", "serve", "--port", str(port)],
        env=run.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = [server.stdout.readline() for _ in range(12)]
        key = banner[3].strip()
        with database.connection_context():
            (organisation,) = Organisation.select()
        url = f"http://127.0.0.1:{port}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"

        wait_until_up(url)

        response = httpx.get(url, headers={"Authorization": f"Api-Key {key}"})

        assert (
            banner[0] == f"First start: created organisation {organisation.id} (Default organisation) and an API key.\n"
        )
        assert organisation.name == "Default organisation"
        assert response.status_code == 200
        assert response.json() == []
        assert banner[7] == f"    http://127.0.0.1:{port}/connect/?organisation={organisation.id}\n"
        assert banner[11] == f"    curl -H 'Authorization: Api-Key {key}' {url}\n"
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_cli__seed_demo__creates_organisations_with_connections_and_working_keys(run, app, tmp_path):
    keys_file = tmp_path / "keys.tsv"

    result = run("seed-demo", "--organisations", "7", "--keys-file", str(keys_file))

    lines = [line.split("\t") for line in keys_file.read_text().splitlines()]
    assert result.stdout == f"created 7 organisations; keys in {keys_file}\n"
    assert len(lines) == 7
    with database.connection_context():
        assert Organisation.select().count() == 7
        statuses = sorted(c.status for c in WarehouseConnection.select())
    assert statuses == ["connected"] * 5 + ["error", "pending_customer_setup"]
    organisation_id, key = lines[-1]
    response = app.test_client().get(
        f"/api/v1/organisations/{organisation_id}/integrations/warehouse-connections/",
        headers={"Authorization": f"Api-Key {key}"},
    )
    assert response.status_code == 200
    assert response.json()[0]["config"]["account_identifier"] == "demo6.us-east-1"


@pytest.fixture
def unfrozen(monkeypatch):
    """launch's effects stay in the test: its import finder, and the objects it moves out of the collector's sight."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield
    gc.unfreeze()


def test_launch__runs_the_cli_with_the_garbage_collector_on(monkeypatch, unfrozen):
    states = []
    monkeypatch.setattr(cli, "main", lambda: states.append(gc.isenabled()) or 0)

    assert launch.main() == 0
    assert states == [True]
    assert gc.isenabled()


def test_startup__objects_for_life__made_with_the_collector_paused_then_frozen(unfrozen):
    frozen_before = gc.get_freeze_count()

    with startup.objects_for_life():
        paused = not gc.isenabled()
        made = [[] for _ in range(1000)]

    assert paused
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(made)


def printed_after_load_cli(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The lines `code` prints in a fresh interpreter, run after launch.load_cli() (and `import sys`)."""
    probe = "import sys; from warehouse_connections import launch; launch.load_cli(); " + code
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_launch__requests__is_loaded_on_first_use_only():
    printed = printed_after_load_cli(
        "print('urllib3' in sys.modules); import requests; print(requests.codes.ok, 'urllib3' in sys.modules)"
    )

    assert printed == ["False", "200 True"]


def test_launch__test_client_and_httpx__are_loaded_on_first_use_only():
    printed = printed_after_load_cli(
        "print('starlette.testclient' in sys.modules, 'httpx._client' in sys.modules); "
        "import connexion; client = connexion.FlaskApp('probe').test_client(); "
        "print(type(client).__module__, client.get('/nowhere').status_code, 'httpx._client' in sys.modules)"
    )

    assert printed == ["False False", "starlette.testclient 404 True"]


@pytest.fixture
def uvicorn_runs(monkeypatch) -> list[tuple[object, dict]]:
    """What `serve` hands uvicorn.run, in place of serving; its SIGTERM handler stays in the test."""
    runs = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: runs.append((app, options)))
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)
    return runs


def test_cli__serve_one_worker__serves_the_app_built_in_this_process_without_websockets(
    settings, organisation, uvicorn_runs, unfrozen
):
    cli._serve(argparse.Namespace(host="127.0.0.1", port=8000, workers=1), settings)

    ((app, options),) = uvicorn_runs
    assert isinstance(app, connexion.FlaskApp)
    assert (options["factory"], options["workers"], options["ws"]) == (False, 1, "none")


def test_cli__serve_several_workers__has_each_worker_build_its_own_app(
    settings, organisation, uvicorn_runs, monkeypatch
):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "unused: uvicorn.run does not run here")

    cli._serve(argparse.Namespace(host="127.0.0.1", port=8000, workers=2), settings)

    ((app, options),) = uvicorn_runs
    assert app == "warehouse_connections.app:app_from_env"
    assert (options["factory"], options["workers"], options["ws"]) == (True, 2, "none")


def test_launch__rsa_key_code__is_loaded_when_the_first_key_is_made():
    printed = printed_after_load_cli(
        "import handlers.warehouse_connections; rsa = 'cryptography.hazmat.primitives.asymmetric.rsa'; "
        "print(rsa in sys.modules); "
        "from warehouses import key_pair; key_pair.generate(2048); print(rsa in sys.modules)"
    )

    assert printed == ["False", "True"]


@pytest.mark.parametrize(
    ("database_url", "loaded"),
    [("sqlite:///var/wc.sqlite3", "False None"), ("", "False None"), ("postgresql://db.invalid/wc", "True psycopg")],
)
def test_launch__postgresql_driver__is_loaded_only_for_a_postgresql_database_url(database_url, loaded):
    printed = printed_after_load_cli(
        "import peewee; print('psycopg' in sys.modules, getattr(peewee.psycopg, '__name__', None)); "
        "import psycopg; print(psycopg.__name__)",
        env={**os.environ, "DATABASE_URL": database_url},
    )

    # Hidden only while the CLI loads: an import after it finds the driver.
    assert printed == [loaded, "psycopg"]
