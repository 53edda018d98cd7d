"""Schemathesis, in process: generated requests against the app, every response checked against the spec."""

import hashlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from models import ApiKey, database
from openapi import SPEC_PATH

# Schemathesis applies auth while it generates cases, before any fixture runs: the key must be fixed.
CONTRACT_API_KEY = "wck_contract-tests-" + "k" * 32

schema = schemathesis.openapi.from_path(SPEC_PATH)


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


@schema.parametrize()
# The fixtures are the world the requests run in; the requests do not change it, so sharing is safe.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_contract__generated_requests__conform_to_the_spec(case, app, contract_api_key, organisation, connection):
    # Changed on the case itself, so schemathesis re-checks whether the request is still a negative one.
    # Most generated organisation ids would only meet the 403 of another organisation: aim at ours.
    if isinstance(case.path_parameters, dict) and "organisation_pk" in case.path_parameters:
        case.path_parameters["organisation_pk"] = organisation.id
    # The app exists only once the session fixture has built it: bind it to the operation, and to its
    # schema for the probes that checks send themselves.
    case.operation.app = case.operation.schema.app = app

    case.call_and_validate(base_url="http://testserver/api/v1")
