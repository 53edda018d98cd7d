"""…/{id}/key-rotation/: a new key pair beside the current one, through the real connector against the emulator."""

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization

from models import KeyRotation, Secret, WarehouseConnection, database
from models.secret import PENDING_PRIVATE_KEY, PRIVATE_KEY
from tests.examples import issue_key
from tests.key_rotations import complete_url, rotation_url, run_cleanup_script, run_rotation_script
from tests.problems import assert_problem, problem
from warehouses import key_pair, snowflake

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def secrets_of(connection_id: str) -> dict[str, str]:
    """The connection's stored secrets: name -> the public key of the private key stored under it."""
    with database.connection_context():
        names = [row.name for row in Secret.select().where(Secret.connection == connection_id)]
        return {name: public_key_of(Secret.reveal(connection_id, name)) for name in names}


def public_key_of(private_key_der: bytes) -> str:
    private_key = serialization.load_der_private_key(private_key_der, password=None)
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_for_the(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/test/"


test_for_the.__test__ = False  # a URL helper, not a test


@pytest.fixture
def started(client, list_url, created) -> dict:
    """A rotation started on the created connection: the 201 body."""
    response = client.post(rotation_url(list_url, created["id"]))
    assert response.status_code == 201
    return response.json()


def test_start__returns_201_with_a_new_key_for_the_second_slot_and_its_script(client, list_url, created):
    response = client.post(rotation_url(list_url, created["id"]))

    rotation = response.json()
    assert response.status_code == 201
    assert response.headers["Location"] == rotation_url(list_url, created["id"])
    new_key = key_pair.UserKey(rotation["public_key"], "RSA_PUBLIC_KEY_2")
    assert rotation == {
        "public_key": new_key.public_key,
        "public_key_fingerprint": key_pair.fingerprint(new_key.public_key),
        "key_slot": "RSA_PUBLIC_KEY_2",
        "rotation_script": snowflake.rotation_script(created["id"], created["config"], new_key),
        "started_at": rotation["started_at"],
    }
    assert TIMESTAMP.fullmatch(rotation["started_at"])
    assert new_key.public_key != created["public_key"]
    assert (
        f"ALTER USER \"FLAGSMITH_SERVICE\" SET RSA_PUBLIC_KEY_2 = '{new_key.public_key}';"
        in (rotation["rotation_script"])
    )
    assert secrets_of(created["id"]) == {PRIVATE_KEY: created["public_key"], PENDING_PRIVATE_KEY: new_key.public_key}
    # Nothing the customer depends on changed.
    assert client.get(f"{list_url}{created['id']}/").json() == created


def test_get__pending__returns_the_rotation_as_started(client, list_url, created, started):
    response = client.get(rotation_url(list_url, created["id"]))

    assert response.status_code == 200
    assert response.json() == started


def test_get__with_a_read_only_key__returns_200_but_start_is_403(app, list_url, created, started, organisation):
    reader = app.test_client(headers={"Authorization": f"Api-Key {issue_key(organisation, read_only=True)}"})

    assert reader.get(rotation_url(list_url, created["id"])).json() == started
    for method, url in (
        ("POST", rotation_url(list_url, created["id"])),
        ("DELETE", rotation_url(list_url, created["id"])),
        ("POST", complete_url(list_url, created["id"])),
    ):
        assert_problem(reader.request(method, url), 403, "Forbidden", "This API key is read-only.")


def test_start__already_pending__returns_409_and_keeps_the_pending_key(client, list_url, created, started):
    response = client.post(rotation_url(list_url, created["id"]))

    assert_problem(
        response,
        409,
        "Conflict",
        f"Warehouse connection '{created['id']}' has a key rotation pending already; complete or cancel it first.",
    )
    assert client.get(rotation_url(list_url, created["id"])).json() == started
    assert secrets_of(created["id"])[PENDING_PRIVATE_KEY] == started["public_key"]


def test_full_rotation__script_run_then_complete__the_new_key_is_the_connections_and_the_old_one_is_wiped(
    client, list_url, created, started, emulated_account
):
    run_rotation_script(emulated_account, created, started)

    response = client.post(complete_url(list_url, created["id"]))

    completed = response.json()
    new_key = key_pair.UserKey(started["public_key"], "RSA_PUBLIC_KEY_2")
    assert response.status_code == 200
    assert completed == {
        "connection": {
            **created,
            "public_key": new_key.public_key,
            "setup_script": snowflake.setup_script(created["id"], created["config"], new_key),
        },
        "cleanup_script": snowflake.cleanup_script(
            created["id"], created["config"], key_pair.UserKey(created["public_key"], "RSA_PUBLIC_KEY")
        ),
    }
    assert 'ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY;' in completed["cleanup_script"]
    assert client.get(f"{list_url}{created['id']}/").json() == completed["connection"]
    assert secrets_of(created["id"]) == {PRIVATE_KEY: new_key.public_key}
    assert_problem(
        client.get(rotation_url(list_url, created["id"])),
        404,
        "Not Found",
        f"Warehouse connection '{created['id']}' has no key rotation pending.",
    )
    # The login that proved the new key signed with it: the emulator picks the key by the token's fingerprint.
    (login,) = [entry for entry in emulated_account.requests if entry["path"] == "/session/v1/login-request"]
    assert login["authenticated"] is True
    assert login["jwt_claims"]["iss"].endswith(key_pair.fingerprint(new_key.public_key))
    # Then the session checked where the key is, and ran nothing else.
    assert [(entry["sql"], entry["query_tag"]) for entry in emulated_account.requests if "sql" in entry] == [
        ('DESC USER "FLAGSMITH_SERVICE"', f"flagsmith-warehouse-connections:{created['id']}")
    ]


def test_complete__new_key_set_in_the_other_slot__returns_409_key_in_other_slot_and_changes_nothing(
    client, list_url, created, started, emulated_account
):
    # Someone ran SET RSA_PUBLIC_KEY with the new key instead of the rotation script's line.
    run_rotation_script(emulated_account, created, {**started, "key_slot": "RSA_PUBLIC_KEY"})

    response = client.post(complete_url(list_url, created["id"]))

    step = response.json()["step"]
    assert_problem(
        response,
        409,
        "Conflict",
        'DESC USER "FLAGSMITH_SERVICE" shows RSA_PUBLIC_KEY_2_FP = null, '
        f"not the new key's {started['public_key_fingerprint']}.",
        step=step,
    )
    assert step == {
        "name": "check_key_slot",
        "status": "failed",
        "code": "key_in_other_slot",
        "message": response.json()["detail"],
        "hint": 'The user "FLAGSMITH_SERVICE" holds the new key, but not in RSA_PUBLIC_KEY_2, where the rotation puts '
        "it: the old key's cleanup would then remove a key that works. Run the rotation script's line ALTER USER "
        "\"FLAGSMITH_SERVICE\" SET RSA_PUBLIC_KEY_2 = '…'; and complete the rotation again.",
        "retryable": False,
        "duration_ms": step["duration_ms"],
    }
    assert client.get(f"{list_url}{created['id']}/").json() == created
    assert client.get(rotation_url(list_url, created["id"])).json() == started
    # Once the rotation script's own line ran too, the completion goes through.
    run_rotation_script(emulated_account, created, started)
    assert client.post(complete_url(list_url, created["id"])).status_code == 200


def test_full_rotation__after_the_cleanup_script__tests_pass_with_the_new_key_alone(
    client, list_url, created, started, emulated_account
):
    run_rotation_script(emulated_account, created, started)
    client.post(complete_url(list_url, created["id"]))
    run_cleanup_script(emulated_account, created, "RSA_PUBLIC_KEY")

    result = client.post(test_for_the(list_url, created["id"])).json()

    assert emulated_account.public_keys("xy12345.us-east-1", "FLAGSMITH_SERVICE") == {
        "RSA_PUBLIC_KEY_2": key_pair.fingerprint(started["public_key"])
    }
    assert (result["success"], [step["status"] for step in result["steps"]]) == (True, ["passed"] * 6)


def test_complete__before_the_script_ran__returns_409_with_the_raw_error_and_changes_nothing(
    client, list_url, created, started, emulated_account
):
    response = client.post(complete_url(list_url, created["id"]))

    body = response.json()
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    step = body["step"]
    assert body == {**problem(409, "Conflict", step["message"]), "step": step}
    assert step["message"].startswith("390144 (28000): Failed to login: Login error: JWT token is invalid. [")
    assert step == {
        "name": "log_in",
        "status": "failed",
        "code": "key_rejected",
        "message": step["message"],
        "hint": 'Snowflake did not accept this connection\'s key for the user "FLAGSMITH_SERVICE": the rotation '
        'script has not run, or the user holds another key. Run the script\'s line ALTER USER "FLAGSMITH_SERVICE" '
        "SET RSA_PUBLIC_KEY_2 = '…'; then check with DESC USER \"FLAGSMITH_SERVICE\"; that RSA_PUBLIC_KEY_2_FP is "
        f"{started['public_key_fingerprint']}.",
        "retryable": False,
        "duration_ms": step["duration_ms"],
    }
    assert client.get(f"{list_url}{created['id']}/").json() == created
    assert client.get(rotation_url(list_url, created["id"])).json() == started
    assert secrets_of(created["id"]) == {PRIVATE_KEY: created["public_key"], PENDING_PRIVATE_KEY: started["public_key"]}
    # The old key still works, and a refused completion is no test: the history stays empty.
    assert client.post(test_for_the(list_url, created["id"])).json()["success"] is True
    assert len(client.get(f"{list_url}{created['id']}/tests/").json()) == 1


def test_pending__connection_tests__keep_using_the_current_key(client, list_url, created, started, emulated_account):
    result = client.post(test_for_the(list_url, created["id"])).json()

    assert result["success"] is True
    (login,) = [entry for entry in emulated_account.requests if entry["path"] == "/session/v1/login-request"]
    assert login["jwt_claims"]["iss"].endswith(key_pair.fingerprint(created["public_key"]))


def test_cancel__returns_204_wipes_the_pending_key_and_keeps_the_connections(client, list_url, created, started):
    response = client.delete(rotation_url(list_url, created["id"]))

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert secrets_of(created["id"]) == {PRIVATE_KEY: created["public_key"]}
    assert client.get(f"{list_url}{created['id']}/").json() == created
    with database.connection_context():
        assert KeyRotation.select().count() == 0


@pytest.mark.parametrize(("method", "url"), [("GET", rotation_url), ("DELETE", rotation_url), ("POST", complete_url)])
def test_no_rotation_pending__get_cancel_and_complete__return_404(client, list_url, created, method, url):
    response = client.request(method, url(list_url, created["id"]))

    assert_problem(response, 404, "Not Found", f"Warehouse connection '{created['id']}' has no key rotation pending.")


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", rotation_url), ("GET", rotation_url), ("DELETE", rotation_url), ("POST", complete_url)],
)
def test_other_organisations_connection__every_rotation_operation__returns_404(
    client, list_url, other_organisations_connection, method, url
):
    response = client.request(method, url(list_url, other_organisations_connection.id))

    assert_problem(
        response,
        404,
        "Not Found",
        f"No warehouse connection '{other_organisations_connection.id}' in organisation {list_url.split('/')[4]}.",
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", rotation_url), ("GET", rotation_url), ("DELETE", rotation_url), ("POST", complete_url)],
)
def test_every_rotation_operation__without_credentials__returns_401(anonymous_client, list_url, created, method, url):
    response = anonymous_client.request(method, url(list_url, created["id"]))

    assert_problem(response, 401, "Unauthorized", "No authorization token provided")


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", rotation_url), ("GET", rotation_url), ("DELETE", rotation_url), ("POST", complete_url)],
)
def test_every_rotation_operation__another_organisations_key__returns_403(
    app, list_url, created, other_organisation, method, url
):
    other = app.test_client(headers={"Authorization": f"Api-Key {issue_key(other_organisation)}"})

    response = other.request(method, url(list_url, created["id"]))

    assert_problem(response, 403, "Forbidden", "This API key belongs to another organisation.")


def test_second_rotation__goes_into_the_freed_first_slot(client, list_url, created, started, emulated_account):
    run_rotation_script(emulated_account, created, started)
    client.post(complete_url(list_url, created["id"]))
    run_cleanup_script(emulated_account, created, "RSA_PUBLIC_KEY")

    second = client.post(rotation_url(list_url, created["id"])).json()
    run_rotation_script(emulated_account, created, second)
    completed = client.post(complete_url(list_url, created["id"])).json()

    third_key = key_pair.UserKey(second["public_key"], "RSA_PUBLIC_KEY")
    assert second["key_slot"] == "RSA_PUBLIC_KEY"
    assert f"SET RSA_PUBLIC_KEY = '{third_key.public_key}';" in second["rotation_script"]
    assert completed["connection"]["public_key"] == third_key.public_key
    assert completed["connection"]["setup_script"] == snowflake.setup_script(
        created["id"], created["config"], third_key
    )
    assert 'ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY_2;' in completed["cleanup_script"]
    assert secrets_of(created["id"]) == {PRIVATE_KEY: third_key.public_key}
    with database.connection_context():
        assert WarehouseConnection.get_by_id(created["id"]).key_slot == "RSA_PUBLIC_KEY"


def test_cancel__then_start_again__targets_the_same_free_slot_with_another_key(client, list_url, created, started):
    client.delete(rotation_url(list_url, created["id"]))

    again = client.post(rotation_url(list_url, created["id"])).json()

    assert again["key_slot"] == "RSA_PUBLIC_KEY_2"
    assert again["public_key"] not in (started["public_key"], created["public_key"])


def test_delete_connection__with_a_rotation_pending__wipes_both_keys(client, list_url, created, started):
    response = client.delete(f"{list_url}{created['id']}/")

    assert response.status_code == 204
    with database.connection_context():
        assert Secret.select().count() == 0
        assert KeyRotation.select().count() == 0
    assert client.get(rotation_url(list_url, created["id"])).status_code == 404


def test_edit__with_a_rotation_pending__keeps_it_and_its_script_names_the_new_user(client, list_url, created, started):
    edited = client.patch(f"{list_url}{created['id']}/", json={"user": "LOADER_2"}).json()

    pending = client.get(rotation_url(list_url, created["id"])).json()

    assert pending == {
        **started,
        "rotation_script": snowflake.rotation_script(
            created["id"], edited["config"], key_pair.UserKey(started["public_key"], "RSA_PUBLIC_KEY_2")
        ),
    }
    assert f"ALTER USER \"LOADER_2\" SET RSA_PUBLIC_KEY_2 = '{started['public_key']}';" in pending["rotation_script"]
    # The edit's setup script still sets the current key, in its slot.
    assert f"ALTER USER \"LOADER_2\" SET RSA_PUBLIC_KEY = '{created['public_key']}';" in edited["setup_script"]


def test_start__postgresql_connection__returns_409_it_has_no_key_pair(client, list_url, fake_dns):
    fake_dns.answers["analytics.example.com"] = ["93.184.215.14"]
    connection = client.post(
        list_url, json={"type": "postgresql", "host": "analytics.example.com", "database": "analytics"}
    ).json()

    response = client.post(rotation_url(list_url, connection["id"]))

    assert_problem(
        response, 409, "Conflict", f"Warehouse connection '{connection['id']}' (postgresql) has no key pair to rotate."
    )
    assert client.get(rotation_url(list_url, connection["id"])).status_code == 404


def test_rotation__connection_an_older_version_stored_without_a_slot__treats_its_key_as_in_the_first_slot(
    client, list_url, created, emulated_account
):
    # A replica of the version before rotations, during a rolling deploy, writes no key_slot.
    with database.connection_context():
        WarehouseConnection.update(key_slot=None).where(WarehouseConnection.id == created["id"]).execute()

    rotation = client.post(rotation_url(list_url, created["id"])).json()
    edited = client.patch(f"{list_url}{created['id']}/", json={"warehouse": "LOAD_WH"})
    run_rotation_script(emulated_account, created, rotation)
    completed = client.post(complete_url(list_url, created["id"]))

    assert rotation["key_slot"] == "RSA_PUBLIC_KEY_2"
    assert edited.status_code == 200
    assert f"SET RSA_PUBLIC_KEY = '{created['public_key']}';" in edited.json()["setup_script"]
    assert completed.status_code == 200
    assert 'ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY;' in completed.json()["cleanup_script"]
