"""The SCRAM-SHA-256 verifier against PostgreSQL's own, and logins to a throwaway cluster that checks passwords."""

import base64
import hashlib
import hmac
import re
import secrets

import psycopg
import pytest

from warehouses.postgresql.scram import verifier

VERIFIER = re.compile(r"SCRAM-SHA-256\$(?P<iterations>\d+):(?P<salt>[^$]+)\$(?P<stored_key>[^:]+):(?P<server_key>.+)")


@pytest.fixture
def role(postgresql_cluster) -> str:
    """A login role of its own for the test (the cluster is the session's); dropped after it."""
    name = f"scram_{secrets.token_hex(4)}"
    postgresql_cluster.execute(f"CREATE ROLE {name} LOGIN")
    yield name
    postgresql_cluster.execute(f"DROP ROLE {name}")


def stored_password(cluster, role: str) -> str:
    [(rolpassword,)] = cluster.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", params=(role,))
    return rolpassword


def test_verifier__salt_and_iterations_of_postgresqls__equals_postgresqls(postgresql_cluster, role):
    postgresql_cluster.execute(f"SET password_encryption = 'scram-sha-256'; ALTER ROLE {role} PASSWORD 'pencil'")
    postgresqls = stored_password(postgresql_cluster, role)
    parts = VERIFIER.fullmatch(postgresqls)

    ours = verifier("pencil", salt=base64.b64decode(parts["salt"]), iterations=int(parts["iterations"]))

    assert ours == postgresqls


def test_verifier__set_as_role_password__stored_as_given(postgresql_cluster, role):
    ours = verifier("pencil")

    postgresql_cluster.execute(f"ALTER ROLE {role} PASSWORD '{ours}'")

    assert stored_password(postgresql_cluster, role) == ours


def test_verifier__set_as_role_password__logs_in_with_the_password(postgresql_cluster, role):
    postgresql_cluster.execute(f"ALTER ROLE {role} PASSWORD '{verifier('pencil')}'")

    with postgresql_cluster.connect(user=role, password="pencil") as connection:
        assert connection.execute("SELECT current_user").fetchone() == (role,)


def test_verifier__set_as_role_password__refuses_a_wrong_password(postgresql_cluster, role):
    postgresql_cluster.execute(f"ALTER ROLE {role} PASSWORD '{verifier('pencil')}'")

    with pytest.raises(psycopg.OperationalError, match=f'password authentication failed for user "{role}"'):
        postgresql_cluster.connect(user=role, password="pencil2")


def test_verifier__other_iterations__logs_in_with_the_password(postgresql_cluster, role):
    postgresql_cluster.execute(f"ALTER ROLE {role} PASSWORD '{verifier('pencil', iterations=8192)}'")

    with postgresql_cluster.connect(user=role, password="pencil") as connection:
        assert connection.execute("SELECT current_user").fetchone() == (role,)


def test_verifier__rfc_7677_example__verifies_its_client_proof_and_server_signature():
    # RFC 7677 section 3: user "user", password "pencil"; its AuthMessage is the three messages without the proof.
    salt, nonce = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r={nonce}"
    client_proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")

    parts = VERIFIER.fullmatch(verifier("pencil", salt=salt, iterations=4096))

    # What a server holding only the verifier does (RFC 5802 section 3).
    stored_key, server_key = base64.b64decode(parts["stored_key"]), base64.b64decode(parts["server_key"])
    client_signature = hmac.digest(stored_key, auth_message.encode(), "sha256")
    client_key = bytes(proof ^ signature for proof, signature in zip(client_proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.digest(server_key, auth_message.encode(), "sha256")
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_verifier__no_salt__a_random_16_byte_salt_and_4096_iterations():
    first, second = VERIFIER.fullmatch(verifier("pencil")), VERIFIER.fullmatch(verifier("pencil"))

    assert (first["iterations"], len(base64.b64decode(first["salt"]))) == ("4096", 16)
    assert first["salt"] != second["salt"]


def test_verifier__non_ascii_password__raises_value_error():
    with pytest.raises(ValueError, match="needs an ASCII password"):
        verifier("pässword")
