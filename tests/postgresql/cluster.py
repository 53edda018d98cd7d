"""A throwaway PostgreSQL cluster that checks passwords, which the suite's own server (trusting loopback) cannot.

`initdb --auth=scram-sha-256` in a temporary directory, listening on 127.0.0.1 on an OS-picked port, its unix
socket in that directory, TLS on with a self-signed certificate for `localhost` and `127.0.0.1`, and every login
(TCP with or without TLS, or the socket) checked with scram-sha-256. Root (as in CI) runs the server binaries as
the `postgres` user through `runuser`, since initdb refuses root; anyone else runs them as themselves.
"""

from __future__ import annotations

import datetime
import glob
import ipaddress
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from psycopg import sql

from tests.processes import free_port

BIN_DIRS = "/usr/lib/postgresql/*/bin"
SYSTEM_USER = "postgres"
# Every login checks a password: the point of this cluster. `host` matches TCP with and without TLS.
PG_HBA = """\
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
"""
COMMAND_TIMEOUT_SECONDS = 60


class ClusterUnavailable(Exception):
    """What this machine lacks to run a cluster (the fixture skips, or fails under WC_REQUIRE_PG_CLUSTER=1)."""


def server_bin_dir() -> Path:
    """The newest installed server's binaries (Debian's layout: /usr/lib/postgresql/<major>/bin)."""
    found = [Path(path).parent for path in glob.glob(f"{BIN_DIRS}/initdb") if Path(path).with_name("pg_ctl").exists()]
    if not found:
        raise ClusterUnavailable(f"the PostgreSQL server binaries are missing: no {BIN_DIRS}/initdb and pg_ctl")
    return max(found, key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0)


def run_as_postgres_prefix() -> list[str]:
    """What runs a command as the server's user: nothing but ourselves, unless we are root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ClusterUnavailable("runuser (util-linux) is missing: root needs it to run initdb as postgres")
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise ClusterUnavailable(f"no {SYSTEM_USER!r} system user to run the server as (initdb refuses root)") from None
    return ["runuser", "-u", SYSTEM_USER, "--"]


class Cluster:
    """A running cluster; a context manager that stops it and removes its directory on exit."""

    host = "127.0.0.1"
    superuser = "postgres"

    def __init__(self, bin_dir: Path, as_postgres: list[str]):
        self.bin_dir = bin_dir
        self._as_postgres = as_postgres
        self.root = Path(tempfile.mkdtemp(prefix="wc-pg-cluster-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "server.log"
        # Self-signed: the server's certificate is also the CA a client trusts (sslrootcert) for verify-full.
        self.certificate_path = self.root / "server.crt"
        self.superuser_password = secrets.token_urlsafe(24)
        self.port = 0
        self._running = False

    def __enter__(self) -> Cluster:
        try:
            self._own(self.root)
            self._initdb()
            self._write_tls_files()
            self._configure()
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._running:
            # Nothing in a throwaway cluster is worth a checkpoint.
            self._pg_ctl("stop", "-m", "immediate")
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(
        self, database: str = "postgres", user: str = superuser, password: str | None = None, **options
    ) -> psycopg.Connection:
        """A psycopg connection over TCP; `password` defaults to the superuser's; `options` add to (or override) the
        conninfo: sslmode, sslrootcert=cluster.certificate_path, host="localhost", autocommit…"""
        password = self.superuser_password if password is None else password
        conninfo = {"host": self.host, "port": self.port, "connect_timeout": 10}
        return psycopg.connect(**conninfo | options, dbname=database, user=user, password=password)

    def execute(self, statement: str, database: str = "postgres", params: tuple | None = None) -> list[tuple]:
        """Runs SQL as the superuser in autocommit (CREATE DATABASE needs it); the rows, if it returns any."""
        with self.connect(database, autocommit=True) as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)).as_string())
        return name

    def _initdb(self) -> None:
        password_file = self.root / "superuser-password"
        self._write(password_file, self.superuser_password.encode(), 0o600)
        try:
            self._run_server_binary(
                "initdb",
                f"--pgdata={self.data_dir}",
                f"--username={self.superuser}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                # A throwaway cluster need not survive a crash: skip the fsyncs that make initdb slow.
                "--no-sync",
            )
        finally:
            password_file.unlink()

    def _write_tls_files(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(self.host))]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            # A CA as well, so that clients can trust it as their root for verify-ca and verify-full.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._write(self.certificate_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # The server refuses a key file others can read.
        self._write(self.root / "server.key", key_pem, 0o600)

    def _configure(self) -> None:
        settings = {
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.root),
            "ssl": "on",
            "ssl_cert_file": str(self.certificate_path),
            "ssl_key_file": str(self.root / "server.key"),
            "password_encryption": "scram-sha-256",
            "fsync": "off",
            "shared_buffers": "16MB",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
        (self.data_dir / "pg_hba.conf").write_text(PG_HBA)

    def _start(self) -> None:
        # The OS-picked port is free when read but not reserved: another process may take it first, so try twice.
        for _attempt in range(2):
            self.port = free_port()
            started = self._pg_ctl("start", f"--log={self.log_path}", f"--options=-p {self.port}", "--timeout=30")
            if started.returncode == 0:
                self._running = True
                return
        raise RuntimeError(f"the cluster did not start: {started.stdout}{started.stderr}\n{self._log_tail()}")

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return self._run_server_binary("pg_ctl", *args, f"--pgdata={self.data_dir}", "--wait", check=False)

    def _run_server_binary(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self._as_postgres, str(self.bin_dir / name), *args]
        # cwd: the server's user may not enter ours (root's home, say).
        result = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{name} failed ({result.returncode}): {result.stdout}{result.stderr}")
        return result

    def _write(self, path: Path, content: bytes, mode: int) -> None:
        path.write_bytes(content)
        path.chmod(mode)
        self._own(path)

    def _own(self, path: Path) -> None:
        """Gives a path to the server's user when we run it as `postgres`."""
        if self._as_postgres:
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    def _log_tail(self) -> str:
        try:
            return "".join(self.log_path.read_text().splitlines(keepends=True)[-20:])
        except FileNotFoundError:
            return "(no server log)"
