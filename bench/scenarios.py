"""The two kinds of run: every configuration on one database, and the list endpoint vs organisation count."""

import contextlib
import datetime
from pathlib import Path

from checks import check_semantics, detail_keys
from common import BENCH_DIR, RESULTS_DIR, Options, log
from databases import Database, dev_issuer, environment, read_keys, seed, wrk_keys_file, wrk_tokens_file
from load import BEARER, against_control, measure, summarise
from profiling import profile
from servers import CONTROL, Server, start_servers, stop_all

# Dashboard sessions, each a token with a role in its own organisation: a session's calls share its token,
# which the service verifies once and then remembers. wrk draws from this many.
BEARER_SESSIONS = 1_000


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
        if BEARER in options.endpoints:
            env.update(dev_issuer(env))
        servers = start_servers(options, env, dir_, keys[0])
        files = {"list": wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")}
        if "detail" in options.endpoints:
            files["detail"] = detail_keys(servers["service"], keys, options.detail_sample, dir_ / "wrk-detail.tsv")
        semantics = check_semantics(servers, keys)
        if not semantics["equal"]:
            log(f"  warning: the reference answers differently: {semantics['differences']}")
        # The references know no bearer tokens: the service alone runs list-bearer, beside its own list.
        by_server = {name: {e: f for e, f in files.items() if e != BEARER} for name in servers}
        if BEARER in options.endpoints:
            by_server["service"][BEARER] = wrk_tokens_file(env, keys, BEARER_SESSIONS, dir_ / "wrk-bearer.tsv")
        runs = measure(servers, by_server, options, options.rounds, db_kind)
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
        if BEARER in options.endpoints:
            result["bearer_sessions"] = min(BEARER_SESSIONS, len(keys))
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
    """Latency vs organisation count: seed up to each count in turn, restart the servers, measure them in the same
    rounds as the control (the service over a second database that stays at the smallest count)."""
    with contextlib.ExitStack() as cleanup:
        dirs = {name: workdir / name for name in ("scale", "control")}
        dbs, envs, keys_files = {}, {}, {}
        for name, dir_ in dirs.items():
            dir_.mkdir()
            dbs[name] = Database("postgresql", dir_, options.pg_url, options.keep)
            cleanup.callback(dbs[name].drop)
            envs[name], keys_files[name] = environment(dbs[name], dir_, options, secret_key), dir_ / "keys.tsv"
        smallest = min(options.scale_counts)
        log(f"== scale: the control, {smallest} organisations on PostgreSQL")
        control_seconds = seed(envs["control"], smallest, keys_files["control"], dirs["control"])
        dbs["control"].settle()
        control_keys = read_keys(keys_files["control"])
        # At every count wrk draws from as many organisations as at the smallest, sampled from the whole table: what
        # grows is the table, not the traffic's working set, so the key cache hits as often at every count (and
        # service-no-key-cache, which looks every key up, shows the path of the misses).
        working_set = min(smallest, options.max_wrk_keys)
        control_file = wrk_keys_file(control_keys, working_set, dirs["control"] / "wrk-list.tsv")
        points, seeded = [], 0
        for count in sorted(options.scale_counts):
            log(f"== scale: {count} organisations on PostgreSQL")
            seconds = seed(envs["scale"], count - seeded, keys_files["scale"], dirs["scale"])
            log(f"  seed-demo: {count - seeded} more organisations in {seconds:.1f} s")
            seeded = count
            dbs["scale"].settle()
            keys = read_keys(keys_files["scale"])
            servers = start_servers(options, envs["scale"], dirs["scale"], keys[0])
            try:
                servers |= start_servers(options, envs["control"], dirs["control"], control_keys[0], (CONTROL,))
                scale_file = wrk_keys_file(keys, working_set, dirs["scale"] / "wrk-list.tsv")
                files = {name: {"list": control_file if name == CONTROL else scale_file} for name in servers}
                runs = measure(servers, files, options, options.rounds, f"{count:>9}")
                points.append(
                    {
                        "organisations": count,
                        "seed_seconds": round(seconds, 2),
                        "seeded_organisations": count - (points[-1]["organisations"] if points else 0),
                        "wrk_organisations": _lines(scale_file),
                        "servers": {
                            name: {"startup_s": round(s.startup_s, 3), **s.memory()} for name, s in servers.items()
                        },
                        "runs": runs,
                        "summary": summarise(runs, ("list",), list(servers)),
                        "against_control": against_control(runs, CONTROL),
                    }
                )
            finally:
                stop_all(servers)
        return {
            "database": "postgresql",
            "database_version": dbs["scale"].server_version,
            "control": {
                "organisations": smallest,
                "seed_seconds": round(control_seconds, 2),
                "wrk_organisations": _lines(control_file),
            },
            "points": points,
        }


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def _display_command(command: list[str]) -> str:
    shown = [Path(part).name if i == 0 else part for i, part in enumerate(command)]
    return " ".join(shown).replace(str(BENCH_DIR), "bench")


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version
