"""Every command given bad arguments, run as a user runs it: exit 2, one line saying what is wrong, no traceback.

Run on SQLite and on PostgreSQL: names are held to one rule (models/names.py) that both databases keep alike.
Each test runs one command through a table of bad arguments and reports every case that answers otherwise.
"""

import socket
import subprocess
from collections.abc import Callable, Iterator

import pytest

from models import ApiKey, Organisation, database
from models.names import InvalidName

LONG_NAME = "x" * 201
# What argv carries for bytes that are not UTF-8: os.fsencode gives the child the bytes as they are.
NOT_UTF8 = b"Acme \xff"
# A refusal takes a second or two: far longer means the command went ahead.
REFUSAL_DEADLINE_SECONDS = 20
# The error line of an argparse usage error, after its usage lines.
USAGE = "warehouse-connections {command}: error: argument {option}: {error}"

Case = tuple[list[str | bytes], str]


def refusal(result: subprocess.CompletedProcess, error_line: str) -> str | None:
    """None if the command exited 2, printed nothing on stdout, and `error_line` is the one line of stderr that
    says what is wrong (argparse's usage lines may come before it); else what it did instead."""
    lines = result.stderr.splitlines()
    if "Traceback" in result.stderr:
        return f"a traceback: {lines[-1]}"
    if (result.returncode, result.stdout) != (2, ""):
        return f"exit {result.returncode}, stdout {result.stdout!r}"
    if not lines or lines[-1] != error_line or [line for line in lines if "error:" in line] != [error_line]:
        return f"stderr {result.stderr!r}"
    return None


def answer(
    run: Callable[..., subprocess.CompletedProcess], args: list[str | bytes], error_line: str, **env
) -> str | None:
    """What `refusal` says of the command run with `args`; a command still running when it should have been refused
    (`serve` given a port it should not take, say) is stopped after a deadline."""
    try:
        return refusal(run(*args, check=False, timeout=REFUSAL_DEADLINE_SECONDS, **env), error_line)
    except subprocess.TimeoutExpired:
        return f"still running after {REFUSAL_DEADLINE_SECONDS} s"


def misanswered(run: Callable[..., subprocess.CompletedProcess], cases: list[Case], **env: str) -> list[str]:
    """The cases the command did not refuse with their error line, each with what it did instead."""
    answers = [(args, error_line, answer(run, args, error_line, **env)) for args, error_line in cases]
    return [f"{args}: expected {error_line!r}, got {problem}" for args, error_line, problem in answers if problem]


def test_cli_organisations_create__bad_names__each_refused_and_nothing_stored(run):
    cases = [
        ([""], "error: organisation name is empty"),
        (["   "], "error: organisation name is empty"),
        ([LONG_NAME], "error: organisation name is 201 characters long; the most is 200"),
        ([NOT_UTF8], "error: organisation name is not valid UTF-8 text (character 6)"),
        (["Ac\tme"], "error: organisation name contains the control character U+0009 (character 3)"),
        (["Ac\nme"], "error: organisation name contains the control character U+000A (character 3)"),
        (["Ac\x1bme"], "error: organisation name contains the control character U+001B (character 3)"),
    ]

    problems = misanswered(run, [(["organisations", "create", "--name", *args], line) for args, line in cases])

    assert problems == []
    with database.connection_context():
        assert Organisation.select().count() == 0


def test_cli_organisations_create__200_characters_with_spaces_around__stored_trimmed_on_every_database(run):
    result = run("organisations", "create", "--name", f"  {'é' * 200} ")

    with database.connection_context():
        assert Organisation.get_by_id(int(result.stdout)).name == "é" * 200


@pytest.mark.parametrize("name", ["Ac\x00me", "Ac\ud800me", "Ac\u2028me"], ids=["nul", "lone-surrogate", "line-sep"])
def test_organisation_create__name_argv_cannot_carry__refused_before_the_database(app, name):
    with database.connection_context(), pytest.raises(InvalidName):
        Organisation.create(name=name)


def test_cli_api_keys_create__bad_arguments__each_refused_and_nothing_stored(run, organisation):
    org = str(organisation.id)
    cases = [
        (["--organisation", org, "--name", ""], "error: API key name is empty"),
        (["--organisation", org, "--name", LONG_NAME], "error: API key name is 201 characters long; the most is 200"),
        (["--organisation", org, "--name", NOT_UTF8], "error: API key name is not valid UTF-8 text (character 6)"),
        (
            ["--organisation", org, "--name", "c\ti"],
            "error: API key name contains the control character U+0009 (character 2)",
        ),
        (["--organisation", "0"], "error: no organisation 0"),
        (["--organisation", "-1"], "error: no organisation -1"),
        (["--organisation", "99999999999999999999"], "error: no organisation 99999999999999999999"),
        (
            ["--organisation", "acme"],
            USAGE.format(command="api-keys create", option="--organisation", error="invalid int value: 'acme'"),
        ),
    ]

    problems = misanswered(run, [(["api-keys", "create", *args], line) for args, line in cases])

    assert problems == []
    with database.connection_context():
        assert ApiKey.select().count() == 0


def test_cli_api_keys_list__unknown_organisations__each_refused(run, organisation):
    cases = [
        (["999999"], "error: no organisation 999999"),
        (["-1"], "error: no organisation -1"),
        (["99999999999999999999"], "error: no organisation 99999999999999999999"),
        (["acme"], USAGE.format(command="api-keys list", option="--organisation", error="invalid int value: 'acme'")),
    ]

    problems = misanswered(run, [(["api-keys", "list", "--organisation", *args], line) for args, line in cases])

    assert problems == []


def test_cli_api_keys_revoke__bad_prefixes__each_refused_and_the_key_kept(run, api_key):
    cases = [
        ([""], "error: no active API key with prefix ''"),
        ([b"wck_\xff"], "error: no active API key with prefix 'wck_\\udcff'"),
        (["wck_AbCd\nEfGh"], "error: no active API key with prefix 'wck_AbCd\\nEfGh'"),
        # The whole key, pasted by mistake: refused without echoing it.
        ([api_key], "error: that is a whole key; revoke takes its first 12 characters (api-keys list)"),
    ]

    problems = misanswered(run, [(["api-keys", "revoke", *args], line) for args, line in cases])

    assert problems == []
    with database.connection_context():
        assert ApiKey.get(ApiKey.prefix == api_key[:12]).revoked_at is None


def test_cli_tokens_mint__bad_arguments__each_refused_and_nothing_printed(run, organisation, tmp_path):
    org, data_dir = str(organisation.id), str(tmp_path)
    usage = "warehouse-connections tokens mint: error: argument {}: {}"
    cases = [
        (
            ["--organisation", org, "--role", "admin"],
            f"error: no dev issuer in {tmp_path / 'dev-issuer'}; run 'warehouse-connections tokens dev-issuer'",
        ),
    ]
    before_issuer = misanswered(run, [(["tokens", "mint", *args], line) for args, line in cases], WC_DATA_DIR=data_dir)
    run("tokens", "dev-issuer", WC_DATA_DIR=data_dir)
    cases = [
        (["--organisation", "999999", "--role", "admin"], "error: no organisation 999999"),
        (
            ["--organisation", "0", "--role", "admin"],
            usage.format("--organisation", "must be from 1 to 9223372036854775807, not 0"),
        ),
        (
            ["--organisation", org, "--role", "owner"],
            usage.format("--role", "invalid choice: 'owner' (choose from 'admin', 'user')"),
        ),
        (
            ["--organisation", org, "--role", "admin", "--minutes", "0"],
            usage.format("--minutes", "must be from 1 to 1440, not 0"),
        ),
        (
            ["--organisation", org, "--role", "admin", "--minutes", "1441"],
            usage.format("--minutes", "must be from 1 to 1440, not 1441"),
        ),
        (
            ["--organisation", org, "--role", "admin", "--minutes", "soon"],
            usage.format("--minutes", "not a whole number: 'soon'"),
        ),
    ]

    problems = before_issuer + misanswered(
        run, [(["tokens", "mint", *args], line) for args, line in cases], WC_DATA_DIR=data_dir
    )

    assert problems == []


def test_cli_seed_demo__bad_arguments__each_refused_before_seeding(run, tmp_path):
    keys = str(tmp_path / "keys.tsv")
    missing, directory = str(tmp_path / "missing" / "keys.tsv"), str(tmp_path)
    count_error = USAGE.format(command="seed-demo", option="--organisations", error="{}")
    cases = [
        (["0", keys], count_error.format("must be from 1 to 10000000, not 0")),
        (["-5", keys], count_error.format("must be from 1 to 10000000, not -5")),
        (["10000001", keys], count_error.format("must be from 1 to 10000000, not 10000001")),
        (["99999999999999999999", keys], count_error.format("must be from 1 to 10000000, not 99999999999999999999")),
        (["many", keys], count_error.format("not a whole number: 'many'")),
        (["3", missing], f"error: cannot write --keys-file {missing!r}: No such file or directory"),
        (["3", directory], f"error: cannot write --keys-file {directory!r}: Is a directory"),
    ]

    problems = misanswered(
        run, [(["seed-demo", "--organisations", count, "--keys-file", path], line) for (count, path), line in cases]
    )

    assert problems == []
    with database.connection_context():
        assert Organisation.select().count() == 0


def test_cli_serve__bad_numbers__each_refused_before_serving(run):
    cases = [
        (["--port", "0"], "--port", "must be from 1 to 65535, not 0"),
        (["--port", "70000"], "--port", "must be from 1 to 65535, not 70000"),
        (["--port", "http"], "--port", "not a whole number: 'http'"),
        (["--workers", "0"], "--workers", "must be from 1 to 256, not 0"),
        (["--workers", "-2"], "--workers", "must be from 1 to 256, not -2"),
        (["--workers", "100000"], "--workers", "must be from 1 to 256, not 100000"),
    ]

    problems = misanswered(
        run,
        [
            (["serve", *args], USAGE.format(command="serve", option=option, error=error))
            for args, option, error in cases
        ],
    )

    assert problems == []


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A loopback port another socket listens on, for the test's length."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_cli_snowflake_emulator__bad_arguments__each_refused_before_serving(run, port_in_use):
    host_error = "the emulator binds 127.0.0.1 only, not {!r}: it is for this machine"
    usage_errors = [
        (["--host", "0.0.0.0"], "--host", host_error.format("0.0.0.0")),
        (["--host", "::"], "--host", host_error.format("::")),
        (["--port", "-1"], "--port", "must be from 0 to 65535, not -1"),
        (["--port", "65536"], "--port", "must be from 0 to 65535, not 65536"),
    ]
    cases = [
        *(
            (args, USAGE.format(command="snowflake-emulator", option=option, error=error))
            for args, option, error in usage_errors
        ),
        (["--port", str(port_in_use)], f"error: cannot listen on 127.0.0.1:{port_in_use}: Address already in use"),
    ]

    problems = misanswered(run, [(["snowflake-emulator", *args], line) for args, line in cases])

    assert problems == []


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections at once: bound for the test's length, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_cli__database_cannot_be_opened__refused_with_the_reason(run, settings, tmp_path, closed_port):
    if settings.database_url.startswith("postgresql"):
        url = f"postgresql://postgres@127.0.0.1:{closed_port}/wc"
        reason = f'connection failed: connection to server at "127.0.0.1", port {closed_port} failed: '
        reason += "Connection refused"
    else:
        url, reason = f"sqlite:///{tmp_path}", "unable to open database file"

    problems = misanswered(run, [(["organisations", "list"], f"error: the database: {reason}")], DATABASE_URL=url)

    assert problems == []
