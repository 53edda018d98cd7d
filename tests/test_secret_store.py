"""Secrets are encrypted at rest, decrypt with any configured key, and never reach a response."""

import base64
import os
import stat

import orjson
import pytest
from cryptography.fernet import Fernet

from models import Secret, database
from models.secret import PRIVATE_KEY, configure_encryption
from tests import leak_guard
from warehouse_connections.infrastructure.encryption_keys import KEY_FILE, load_cipher
from warehouse_connections.settings import Settings, SettingsError
from warehouse_connections.web import representations
from warehouses import connections


def raw_rows(table: str) -> str:
    """Everything the database holds in a table, as text."""
    with database.connection_context():
        return repr(database.execute_sql(f"SELECT * FROM {table}").fetchall())


def test_secret_store__raw_database__holds_no_plaintext_key_material(created):
    with database.connection_context():
        private_key = Secret.reveal(created["id"], PRIVATE_KEY)
    stored = raw_rows("secret") + raw_rows("warehouse_connection")

    assert private_key.startswith(b"0\x82")  # DER: a SEQUENCE
    for encoding in (base64.b64encode(private_key).decode()[100:160], private_key.hex()[200:260]):
        assert encoding not in stored
    assert private_key[100:140].decode("latin-1") not in stored


def test_secret_store__ciphertext__decrypts_with_the_configured_key(created, settings):
    with database.connection_context():
        row = Secret.get(Secret.connection == created["id"])

    plaintext = Fernet(settings.secret_keys[0]).decrypt(row.ciphertext.encode())

    assert row.name == PRIVATE_KEY
    with database.connection_context():
        assert plaintext == Secret.reveal(created["id"], PRIVATE_KEY)


def test_secret_store__old_key_kept_after_the_new_one__still_decrypts(created, settings):
    new_key = Fernet.generate_key().decode()
    configure_encryption(load_cipher(Settings(**{**vars(settings), "secret_keys": (new_key, *settings.secret_keys)})))
    try:
        with database.connection_context():
            assert Secret.reveal(created["id"], PRIVATE_KEY).startswith(b"0\x82")
    finally:
        configure_encryption(load_cipher(settings))


def test_secret_store__no_keys_set__creates_a_key_file_readable_only_by_the_owner(tmp_path, caplog):
    settings = Settings(database_url="sqlite:///unused", data_dir=tmp_path / "data")

    cipher = load_cipher(settings)

    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert Fernet(key_file.read_text().strip()).decrypt(cipher.encrypt(b"x")) == b"x"
    assert f"created encryption key file {key_file}" in caplog.text
    assert os.listdir(tmp_path / "data") == [KEY_FILE]


def test_secret_store__key_file_exists__is_reused(tmp_path):
    settings = Settings(database_url="sqlite:///unused", data_dir=tmp_path)
    token = load_cipher(settings).encrypt(b"secret")

    assert load_cipher(settings).decrypt(token) == b"secret"


@pytest.mark.parametrize("keys", [("not-a-key",), (Fernet.generate_key().decode(), "short")])
def test_secret_store__malformed_key__is_a_clear_startup_error(tmp_path, keys):
    settings = Settings(database_url="sqlite:///unused", data_dir=tmp_path, secret_keys=keys)

    with pytest.raises(SettingsError, match=f"WC_SECRET_KEYS: key {len(keys)} is not a Fernet key"):
        load_cipher(settings)


# PostgreSQL's password is a sensitive field: the rule every such field follows.
POSTGRESQL = {"type": "postgresql", "host": "93.184.215.14", "database": "analytics"}
PASSWORD = leak_guard.record_password("s3cr3t-pa55word-of-the-customer")


def test_secret_store__sensitive_field__is_encrypted_and_never_in_config(app, organisation, settings):
    with database.connection_context():
        connection = connections.create(organisation.id, {**POSTGRESQL, "password": PASSWORD}, settings)
        revealed = Secret.reveal(connection.id, "config.password")
        patched = connections.patch(organisation.id, connection.id, {"type": "postgresql", "schema": "x"}, settings)
        api_view = orjson.loads(orjson.dumps(representations.connection(patched)))

    assert revealed == PASSWORD.encode()
    assert "password" not in api_view["config"]
    assert PASSWORD not in repr(api_view)
    assert PASSWORD not in raw_rows("secret") + raw_rows("warehouse_connection")


def test_secret_store__delete__removes_every_secret_of_the_connection(app, organisation, settings):
    with database.connection_context():
        connection = connections.create(organisation.id, {**POSTGRESQL, "password": PASSWORD}, settings)
        connections.delete(organisation.id, connection.id)

        assert Secret.select().count() == 0


def test_secret_store__multifernet__encrypts_with_the_first_key(settings):
    first, second = Fernet.generate_key(), Fernet.generate_key()
    token = load_cipher(Settings(**{**vars(settings), "secret_keys": (first.decode(), second.decode())})).encrypt(b"x")

    assert Fernet(first).decrypt(token) == b"x"
