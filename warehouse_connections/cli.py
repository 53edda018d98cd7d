"""The `warehouse-connections` command: serve the API and administer organisations and API keys."""

import argparse
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable

import uvicorn
from peewee import OperationalError
from prometheus_client import start_http_server

from models import ApiKey, Organisation, Secret, database
from models.api_key import KEY_PATTERN, PREFIX_LENGTH
from models.names import InvalidName
from models.secret import SecretsUnreadable
from models.storage import DatabaseURLError, migrate
from warehouse_connections.app import connect_storage, create_app
from warehouse_connections.infrastructure import metrics
from warehouse_connections.infrastructure.logs import configure_logging
from warehouse_connections.settings import Settings, SettingsError
from warehouse_connections.startup import objects_for_life
from warehouse_connections.web import connect_page, http_protocol, shutdown
from warehouses import demo

DEFAULT_ORGANISATION = "Default organisation"
# seed-demo's bound: ten times the benchmark's largest run, far below the 2**31 ids PostgreSQL can give.
MAX_DEMO_ORGANISATIONS = 10_000_000
MAX_WORKERS = 256
# A dev token's lifetime bound: a day.
MAX_TOKEN_MINUTES = 24 * 60
# The Snowflake emulator's only address: it lets in anyone who holds a connection's key pair, over plain HTTP.
LOOPBACK = "127.0.0.1"


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Arguments that were not UTF-8 (a path, say) are echoed as the bytes they were, not refused by print().
    sys.stdout.reconfigure(errors="surrogateescape")
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        connect_storage(settings)
        # Every command works on an up-to-date schema, so a fresh machine needs no separate step.
        for name in migrate():
            print(f"applied migration {name}", file=sys.stderr)
        if args.run is not _rotate_secrets:
            with database.connection_context():
                Secret.check_keys()
        return args.run(args, settings) or 0
    except (CommandError, SettingsError, DatabaseURLError, SecretsUnreadable, InvalidName) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        # The database cannot be opened or reached: the first line says why (PostgreSQL adds hints after it).
        print(f"error: the database: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`; anything else is a usage error."""

    def whole_number(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {number}")
        return number

    return whole_number


def _loopback(host: str) -> str:
    if host != LOOPBACK:
        raise argparse.ArgumentTypeError(f"the emulator binds {LOOPBACK} only, not {host!r}: it is for this machine")
    return host


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warehouse-connections",
        description="Connect an organisation's data warehouse. Settings come from the environment (README).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations and serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_whole_number(1, 65535), default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=_whole_number(1, MAX_WORKERS), default=1, help="worker processes (default 1)")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=_migrate)

    organisations = commands.add_parser("organisations", help="create and list organisations")
    organisation_commands = organisations.add_subparsers(required=True, metavar="COMMAND")
    create = organisation_commands.add_parser("create", help="create an organisation; prints its id")
    create.add_argument("--name", required=True)
    create.set_defaults(run=_create_organisation)
    organisation_commands.add_parser("list", help="list organisations (id, name)").set_defaults(run=_list_organisations)

    api_keys = commands.add_parser("api-keys", help="create, list and revoke API keys")
    key_commands = api_keys.add_subparsers(required=True, metavar="COMMAND")
    create = key_commands.add_parser("create", help="create an API key; prints the key, once")
    create.add_argument("--organisation", type=int, required=True, metavar="ID")
    create.add_argument("--name", default="API key")
    create.add_argument("--read-only", action="store_true", help="may only list and get connections")
    create.set_defaults(run=_create_api_key)
    listing = key_commands.add_parser("list", help="list an organisation's keys (prefixes, never keys)")
    listing.add_argument("--organisation", type=int, required=True, metavar="ID")
    listing.set_defaults(run=_list_api_keys)
    revoke = key_commands.add_parser("revoke", help="revoke the key with this prefix")
    revoke.add_argument("prefix")
    revoke.set_defaults(run=_revoke_api_key)

    seed = commands.add_parser("seed-demo", help="create demo organisations in bulk, for benchmarks")
    seed.add_argument(
        "--organisations", type=_whole_number(1, MAX_DEMO_ORGANISATIONS), required=True, metavar="N", help="1 or more"
    )
    seed.add_argument("--keys-file", required=True, metavar="PATH", help="gets 'org_id<TAB>key' per organisation")
    seed.set_defaults(run=_seed_demo)

    emulator = commands.add_parser(
        "snowflake-emulator",
        help="for development: emulate Snowflake on 127.0.0.1, accepting this database's connections",
        description="Emulates Snowflake's login and query API on 127.0.0.1, where every connection in the configured "
        "database logs in with its key pair: point serve at it with WC_SNOWFLAKE_ENDPOINT. Runs until Ctrl-C.",
    )
    emulator.add_argument("--host", type=_loopback, default=LOOPBACK, help=f"{LOOPBACK}, the only address it binds")
    emulator.add_argument("--port", type=_whole_number(0, 65535), default=8081, help="default 8081; 0: a free port")
    emulator.set_defaults(run=_snowflake_emulator)

    tokens = commands.add_parser("tokens", help="for development: a local issuer of bearer tokens (JWTs)")
    token_commands = tokens.add_subparsers(required=True, metavar="COMMAND")
    issuer = token_commands.add_parser(
        "dev-issuer", help="write a signing key and its JWKS under WC_DATA_DIR; prints the settings that serve with it"
    )
    issuer.add_argument("--rotate", action="store_true", help="replace the key: tokens minted before stop working")
    issuer.set_defaults(run=_tokens, action="dev-issuer")
    mint = token_commands.add_parser("mint", help="print a bearer token signed by the dev issuer")
    mint.add_argument("--organisation", type=_whole_number(1, 2**63 - 1), required=True, metavar="ID")
    mint.add_argument("--role", choices=("admin", "user"), required=True, help="admin: every operation; user: reads")
    mint.add_argument("--minutes", type=_whole_number(1, MAX_TOKEN_MINUTES), default=60, help="lifetime (default 60)")
    mint.add_argument("--subject", default="dev-user", help="the token's sub (default dev-user)")
    mint.set_defaults(run=_tokens, action="mint")

    secrets = commands.add_parser("secrets", help="manage the encrypted secret store")
    secret_commands = secrets.add_subparsers(required=True, metavar="COMMAND")
    secret_commands.add_parser(
        "rotate", help="re-encrypt every secret with the first key of WC_SECRET_KEYS; then old keys can go"
    ).set_defaults(run=_rotate_secrets)
    return parser


def _serve(args, settings: Settings) -> None:
    with database.connection_context():
        if not Organisation.select().exists():
            _bootstrap(args)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here; an exposition reads all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="warehouse-connections-metrics-")
    if settings.metrics.isdigit():
        start_http_server(int(settings.metrics), addr=args.host, registry=metrics.registry())
    # uvicorn shuts down on SIGTERM (web/shutdown.py says how), then raises the signal again: exit 0 on that.
    signal.signal(signal.SIGTERM, _exit_at_once)
    if args.workers == 1:
        # Served in this process, over the storage main() has connected and checked.
        with objects_for_life():
            app, factory = create_app(settings), False
    else:
        # Each worker process builds its own.
        app, factory = "warehouse_connections.app:app_from_env", True
    uvicorn.run(
        app,
        factory=factory,
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="on",
        # The API has no WebSocket routes; "auto" would load a WebSocket implementation (~9 ms of start-up).
        ws="none",
        # Our own log line per request replaces uvicorn's access log; its other logs go through ours.
        access_log=False,
        log_config=None,
        # Ours answers what still runs at WC_SHUTDOWN_TIMEOUT; uvicorn's, a moment later, is the backstop.
        timeout_graceful_shutdown=settings.shutdown_timeout + shutdown.ANSWER_GRACE_SECONDS,
        http=http_protocol.protocol_for(settings),
        timeout_keep_alive=settings.keep_alive_timeout,
    )


def _exit_at_once(*_signal) -> None:
    # A normal exit first joins every request thread (concurrent.futures does), hung ones included: that took 30 s.
    logging.shutdown()
    os._exit(0)


def _bootstrap(args) -> None:
    organisation = Organisation.create(name=DEFAULT_ORGANISATION)
    _, key = ApiKey.issue(organisation.id, "Created on first start")
    root = f"http://{args.host}:{args.port}"
    url = f"{root}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"
    print(
        f"First start: created organisation {organisation.id} ({DEFAULT_ORGANISATION}) and an API key.\n"
        f"The key is shown only now; keep it:\n\n    {key}\n\n"
        f"Sign in with it on the connect page:\n\n    {root}{connect_page.PATH}?organisation={organisation.id}\n\n"
        f"Try it:\n\n    curl -H 'Authorization: Api-Key {key}' {url}\n",
        flush=True,
    )


def _migrate(args, settings: Settings) -> None:
    # main() has applied them; the command exists so a deployment can migrate before it serves.
    print("database schema is up to date", file=sys.stderr)


def _create_organisation(args, settings: Settings) -> None:
    with database.connection_context():
        print(Organisation.create(name=args.name).id)


def _list_organisations(args, settings: Settings) -> None:
    with database.connection_context():
        for organisation in Organisation.select().order_by(Organisation.id):
            print(f"{organisation.id}\t{organisation.name}")


def _check_organisation_exists(organisation_id: int) -> None:
    if not Organisation.exists_with_id(organisation_id):
        raise CommandError(f"no organisation {organisation_id}")


def _create_api_key(args, settings: Settings) -> None:
    with database.connection_context():
        _check_organisation_exists(args.organisation)
        _, key = ApiKey.issue(args.organisation, args.name, read_only=args.read_only)
    print(key)


def _list_api_keys(args, settings: Settings) -> None:
    with database.connection_context():
        # An unknown id would list nothing, like an organisation without keys: say which it is.
        _check_organisation_exists(args.organisation)
        keys = ApiKey.select().where(ApiKey.organisation == args.organisation).order_by(ApiKey.id)
        for key in keys:
            access = "read-only" if key.read_only else "full"
            state = "revoked" if key.revoked_at else "active"
            print(f"{key.prefix}\t{access}\t{state}\t{key.name}")


def _revoke_api_key(args, settings: Settings) -> None:
    if KEY_PATTERN.fullmatch(args.prefix) and len(args.prefix) > PREFIX_LENGTH:
        # A whole key, pasted by mistake: not echoed, since error output ends up in logs.
        raise CommandError(f"that is a whole key; revoke takes its first {PREFIX_LENGTH} characters (api-keys list)")
    with database.connection_context():
        if not ApiKey.revoke(args.prefix):
            raise CommandError(f"no active API key with prefix {args.prefix!r}")
    print(f"revoked {args.prefix}")


def _snowflake_emulator(args, settings: Settings) -> None:
    # Imported here, not at the top: a development tool, which the serving process never loads.
    from warehouse_connections.devtools.snowflake_emulator import command

    try:
        command.run(args.port)
    except OSError as error:
        raise CommandError(f"cannot listen on {LOOPBACK}:{args.port}: {error.strerror}") from None


def _tokens(args, settings: Settings) -> None:
    # Imported here, not at the top: a development tool, which the serving process never loads.
    from warehouse_connections.devtools import dev_issuer

    if args.action == "mint":
        with database.connection_context():
            _check_organisation_exists(args.organisation)
    try:
        dev_issuer.COMMANDS[args.action](args, settings)
    except dev_issuer.DevIssuerError as error:
        raise CommandError(str(error)) from None


def _rotate_secrets(args, settings: Settings) -> None:
    with database.connection_context():
        count = Secret.rotate_all()
    print(f"re-encrypted {count} secrets with the first key; keys after it can now be removed")


def _seed_demo(args, settings: Settings) -> None:
    try:
        # Opened before seeding: a path that cannot be written stops the command before it creates anything.
        with open(args.keys_file, "w") as keys_file, database.connection_context():
            seeded = demo.seed(args.organisations, settings.rsa_key_bits)
            keys_file.writelines(f"{org}\t{key}\n" for org, key in seeded)
    except OSError as error:
        raise CommandError(f"cannot write --keys-file {args.keys_file!r}: {error.strerror}") from None
    print(f"created {args.organisations} organisations; keys in {args.keys_file}")
