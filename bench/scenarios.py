"""The two kinds of run: every configuration on one database, and the list endpoint vs organisation count."""

import datetime
from pathlib import Path

from checks import check_semantics, detail_keys
from common import BENCH_DIR, RESULTS_DIR, Options, log
from databases import Database, environment, read_keys, seed, wrk_keys_file
from load import measure, summarise
from profiling import profile
from servers import Server, start_servers, stop_all


def bench_database(db_kind: str, options: Options, workdir: Path, secret_key: str) -> dict:
    log(f"== {db_kind}: {options.organisations} organisations")
    dir_ = workdir / db_kind
    dir_.mkdir()
    db = Database(db_kind, dir_, options.pg_url, options.keep)
    servers: dict[str, Server] = {}
    try:
        env = environment(db, dir_, options, secret_key)
        keys_file = dir_ / "keys.tsv"
        seconds = seed(env, options.organisations, keys_file, dir_)
        log(f"  seed-demo: {options.organisations} organisations in {seconds:.1f} s")
        db.settle()
        keys = read_keys(keys_file)
        servers = start_servers(options, env, dir_, keys[0])
        files = {"list": wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")}
        if "detail" in options.endpoints:
            files["detail"] = detail_keys(servers["service"], keys, options.detail_sample, dir_ / "wrk-detail.tsv")
        semantics = check_semantics(servers, keys)
        if not semantics["equal"]:
            log(f"  warning: the reference answers differently: {semantics['differences']}")
        runs = measure(servers, files, options, options.rounds, db_kind)
        result = {
            "database": db_kind,
            "database_version": getattr(db, "server_version", _sqlite_version()),
            "organisations": options.organisations,
            "seed_seconds": round(seconds, 2),
            "servers": {
                name: {
                    "label": s.config.label,
                    "command": _display_command(s.command),
                    "startup_s": round(s.startup_s, 3),
                    "startup_samples_s": [round(sample, 3) for sample in s.startup_samples],
                    **s.memory(),
                }
                for name, s in servers.items()
            },
            "semantics": semantics,
            "runs": runs,
            "summary": summarise(runs, options.endpoints, list(servers)),
        }
        if options.profile:
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            # Beside the result: bench/results, or the --output's folder.
            folder = options.output.parent if options.output else RESULTS_DIR
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / f"profile-{stamp}-{db_kind}.txt"
            result["profile"] = profile(servers["service"], files["list"], "list", options, out)
            result["servers"]["service"].update(servers["service"].memory())
        return result
    finally:
        stop_all(servers)
        db.drop()


def scale_database(options: Options, workdir: Path, secret_key: str) -> dict:
    """Latency vs organisation count: seed up to each count in turn, restart the servers, measure."""
    dir_ = workdir / "scale"
    dir_.mkdir()
    db = Database("postgresql", dir_, options.pg_url, options.keep)
    points = []
    try:
        env = environment(db, dir_, options, secret_key)
        keys_file = dir_ / "keys.tsv"
        seeded = 0
        for count in sorted(options.scale_counts):
            log(f"== scale: {count} organisations on PostgreSQL")
            seconds = seed(env, count - seeded, keys_file, dir_)
            log(f"  seed-demo: {count - seeded} more organisations in {seconds:.1f} s")
            seeded = count
            db.settle()
            keys = read_keys(keys_file)
            servers = start_servers(options, env, dir_, keys[0])
            try:
                files = {"list": wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")}
                runs = measure(servers, files, options, options.rounds, f"{count:>9}")
                points.append(
                    {
                        "organisations": count,
                        "seed_seconds": round(seconds, 2),
                        "seeded_organisations": count - (points[-1]["organisations"] if points else 0),
                        "servers": {
                            name: {"startup_s": round(s.startup_s, 3), **s.memory()} for name, s in servers.items()
                        },
                        "runs": runs,
                        "summary": summarise(runs, ("list",), list(servers)),
                    }
                )
            finally:
                stop_all(servers)
        return {"database": "postgresql", "database_version": db.server_version, "points": points}
    finally:
        db.drop()


def _display_command(command: list[str]) -> str:
    shown = [Path(part).name if i == 0 else part for i, part in enumerate(command)]
    return " ".join(shown).replace(str(BENCH_DIR), "bench")


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version
