"""The throwaway cluster's TLS: verify-full trusts its certificate by IP and by name, and plain TCP still works."""

import psycopg
import pytest


def tls_of_session(connection) -> tuple[bool]:
    return connection.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_cluster__verify_full_trusting_its_certificate__connects_over_tls(postgresql_cluster, host):
    options = {"host": host, "sslmode": "verify-full", "sslrootcert": str(postgresql_cluster.certificate_path)}

    with postgresql_cluster.connect(**options) as connection:
        assert tls_of_session(connection) == (True,)


def test_cluster__sslmode_disable__connects_without_tls(postgresql_cluster):
    with postgresql_cluster.connect(sslmode="disable") as connection:
        assert tls_of_session(connection) == (False,)


def test_cluster__wrong_superuser_password__refused(postgresql_cluster):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
        postgresql_cluster.connect(password="not-the-password", sslmode="disable")
