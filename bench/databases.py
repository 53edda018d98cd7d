"""A fresh database per run, seeded with `seed-demo`, and the keys files wrk draws from."""

import contextlib
import os
import random
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from common import BenchError, Options, bin_path, tool


class Database:
    """A fresh database for one run: a SQLite file in the work directory, or a PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path, pg_url: str, keep: bool):
        self.kind = kind
        self.keep = keep
        self.pg_url = pg_url
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            self.name = None
            return
        import psycopg

        self.name = f"bench_wc_{int(time.time())}_{os.getpid()}_{workdir.name.replace('-', '_')}"
        try:
            with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
                self.server_version = admin.execute("SHOW server_version").fetchone()[0]
        except psycopg.Error as error:
            raise BenchError(
                f"PostgreSQL at {pg_url} cannot create a database ({error}); --pg-url, or --db sqlite"
            ) from None
        parts = urlsplit(pg_url)
        self.url = urlunsplit(parts._replace(path="/" + self.name))

    def settle(self) -> None:
        """After a bulk load: fresh planner statistics and visibility map, as autovacuum would give in time, and
        the load's writes flushed, so that the disk's write-back does not land on a start-up or a round."""
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
                # A superuser's (or pg_checkpoint's); without it, the server's own checkpoint comes later.
                with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                    conn.execute("CHECKPOINT")
        os.sync()

    def drop(self) -> None:
        if self.kind != "postgresql" or self.keep:
            return
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def environment(db: Database, workdir: Path, options: Options, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WC_", "PROMETHEUS_"))}
    env.update(
        DATABASE_URL=db.url,
        WC_DATA_DIR=str(workdir / "data"),
        WC_SECRET_KEYS=secret_key,
        WC_RSA_KEY_BITS=str(options.rsa_key_bits),
        WC_LOG_LEVEL=options.log_level,
        WC_LOG_FORMAT="json",
        WC_METRICS="on",
        WC_VALIDATE_RESPONSES="false",
        PATH=bin_path(),
    )
    return env


def seed(env: dict[str, str], count: int, keys_file: Path, workdir: Path) -> float:
    """`seed-demo` N more organisations; appends their keys to keys_file; returns the seconds it took."""
    command = tool("warehouse-connections", "Install the project: python -m pip install -e .")
    batch = workdir / "seed-keys.tsv"
    started = time.perf_counter()
    done = subprocess.run(
        [command, "seed-demo", "--organisations", str(count), "--keys-file", str(batch)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"seed-demo failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    lines = batch.read_text().splitlines()
    if len(lines) != count or not all(re.fullmatch(r"\d+\twck_\S+", line) for line in lines[:100]):
        raise BenchError(f"seed-demo wrote {len(lines)} lines to {batch}, expected {count} 'org_id<TAB>key' lines")
    with keys_file.open("a") as out:
        out.write("\n".join(lines) + "\n")
    batch.unlink()
    return seconds


def read_keys(keys_file: Path) -> list[tuple[int, str]]:
    keys = []
    for line in keys_file.read_text().splitlines():
        org, key = line.split("\t")[:2]
        keys.append((int(org), key))
    return keys


def wrk_keys_file(keys: list[tuple[int, str]], limit: int, path: Path) -> Path:
    """The file wrk draws from: every organisation, or a uniform sample of `limit` of them (LuaJIT's memory)."""
    chosen = keys if len(keys) <= limit else random.Random(7).sample(keys, limit)
    path.write_text("".join(f"{org}\t{key}\n" for org, key in chosen))
    return path


def dev_issuer(env: dict[str, str]) -> dict[str, str]:
    """`tokens dev-issuer` under the run's WC_DATA_DIR: the settings that make the service accept its tokens."""
    command = tool("warehouse-connections", "Install the project: python -m pip install -e .")
    done = subprocess.run([command, "tokens", "dev-issuer"], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"tokens dev-issuer failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())


def wrk_tokens_file(env: dict[str, str], keys: list[tuple[int, str]], limit: int, path: Path) -> Path:
    """org<TAB>token for a uniform sample of at most `limit` organisations: an admin token of the dev issuer for
    each, minted here (a `tokens mint` process apiece would take minutes)."""
    from warehouse_connections.devtools.dev_issuer import mint, signing_key
    from warehouse_connections.settings import Settings

    settings = Settings.from_env(env)
    key = signing_key(settings)
    chosen = keys if len(keys) <= limit else random.Random(11).sample(keys, limit)
    path.write_text(
        "".join(f"{org}\t{mint(settings, org, 'admin', 24 * 60, f'bench-{org}', key)}\n" for org, _ in chosen)
    )
    return path
