"""Schemathesis, in process: generated requests against the app, every response checked against the spec."""

import dataclasses
import hashlib
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from models import ApiKey, KeyRotation, Secret, WarehouseConnection, database
from openapi import OPERATIONS_SPEC_PATH, SPEC_PATH
from tests.fuzz import aiming

# Schemathesis applies auth while it generates cases, before any fixture runs: the key must be fixed.
CONTRACT_API_KEY = "wck_contract-tests-" + "k" * 32
SERVER = "http://testserver"

schema = schemathesis.openapi.from_path(SPEC_PATH)
# The probes and metrics, served at the root.
operations_schema = schemathesis.openapi.from_path(OPERATIONS_SPEC_PATH)


@schema.auth(refresh_interval=None)
class OrganisationApiKey:
    """Told to schemathesis as auth, so its auth checks know which credentials are real."""

    def get(self, case, context):
        return CONTRACT_API_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Api-Key {data}"}


@pytest.fixture
def contract_api_key(organisation) -> None:
    with database.connection_context():
        ApiKey.create(
            organisation=organisation,
            name="contract tests",
            prefix=CONTRACT_API_KEY[:12],
            key_hash=hashlib.sha256(CONTRACT_API_KEY.encode()).hexdigest(),
        )


def aim_at(case, organisation_id: int, app) -> None:
    # Changed on the case itself, so schemathesis re-checks whether the request is still a negative one.
    # Most generated organisation ids would only meet the 403 of another organisation: aim at ours.
    if isinstance(case.path_parameters, dict) and "organisation_pk" in case.path_parameters:
        case.path_parameters["organisation_pk"] = organisation_id
    # The app exists only once the session fixture has built it: bind it to the operation, and to its
    # schema for the probes that checks send themselves.
    case.operation.app = case.operation.schema.app = app


@schema.parametrize()
# The fixtures are the world the requests run in; sharing them across examples is the point.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_contract__generated_requests__conform_to_the_spec(
    case, app, contract_api_key, organisation, snowflake_emulator, point_snowflake_at, private_hosts, closed_port
):
    point_snowflake_at(snowflake_emulator.url)
    aim_at(case, organisation.id, app)
    keep_what_cannot_change(case, closed_port)

    case.call_and_validate(base_url=f"{SERVER}/api/v1")


@operations_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_contract__generated_requests_to_the_probes__conform_to_their_spec(case, app):
    case.operation.app = case.operation.schema.app = app

    case.call_and_validate(base_url=SERVER)


@pytest.fixture
def private_hosts(app_state, monkeypatch):
    """PostgreSQL connections may point at loopback: aim_postgresql sends them to a closed port there."""
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(app_state.settings, allow_private_hosts=True))


def keep_what_cannot_change(case, closed_port: int) -> None:
    """Aims a positive body by the stored connection's rules of state (tests/fuzz/aiming.py)."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return
    stored = None
    if isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        with database.connection_context():
            stored = WarehouseConnection.get_or_none(WarehouseConnection.id == case.path_parameters.get("id"))
    stored_type, stored_config = (stored.type, json.loads(stored.config)) if stored else (None, None)
    aiming.aim(case.method, case.body, stored_type, stored_config, closed_port)


def register_with_emulator(case, emulator) -> None:
    """Before a test call: the customer ran the connection's setup script on the emulated account; before a
    rotation's completion, its rotation script too."""
    if not case.operation.path.endswith(("/test/", "/key-rotation/complete/")):
        return
    with database.connection_context():
        stored = WarehouseConnection.get_or_none(WarehouseConnection.id == case.path_parameters.get("id"))
        rotation = KeyRotation.get_or_none(KeyRotation.connection == case.path_parameters.get("id"))
    if stored is not None and stored.type == "snowflake":
        config = json.loads(stored.config)
        emulator.register_user(config["account_identifier"], config["user"], stored.public_key, stored.key_slot)
        emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")
        if rotation is not None:
            emulator.register_user(config["account_identifier"], config["user"], rotation.public_key, rotation.key_slot)


def test_contract__stateful_walks_over_the_links__conform_to_the_spec(
    app, contract_api_key, organisation, snowflake_emulator, point_snowflake_at, private_hosts, closed_port
):
    point_snowflake_at(snowflake_emulator.url)
    reached = set()

    class Walk(schema.as_state_machine()):
        def setup(self):
            with database.connection_context():
                Secret.delete().execute()
                KeyRotation.delete().execute()
                WarehouseConnection.delete().execute()

        def before_call(self, case):
            aim_at(case, organisation.id, app)
            keep_what_cannot_change(case, closed_port)
            register_with_emulator(case, snowflake_emulator)

        def get_call_kwargs(self, case):
            return {"base_url": f"{SERVER}/api/v1"}

        def after_call(self, response, case):
            super().after_call(response, case)
            reached.add((case.operation.definition.raw["operationId"], response.status_code))

    # Derandomized, so the walks generated are the same on every run and CI does not depend on luck.
    Walk.run(settings=settings(max_examples=100, stateful_step_count=8, deadline=None, derandomize=True))

    assert {
        ("create_connection", 201),
        ("get_connection", 200),
        ("update_connection", 200),
        ("patch_connection", 200),
        ("test_connection", 200),
        ("delete_connection", 204),
    } <= reached
    assert any(entry.get("authenticated") for entry in snowflake_emulator.requests)
