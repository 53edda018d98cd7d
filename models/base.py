import datetime
import logging
from collections.abc import Callable

from peewee import DatabaseProxy, Model, Query

database = DatabaseProxy()


class QueryParametersHidden(logging.Filter):
    """peewee logs every query with its parameters at DEBUG: ciphertexts, key hashes, customers' names.

    Only the SQL text stays; a ciphertext beside the key file is the secret itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            record.msg, record.args = f"{record.msg[0]} (parameters not logged)", ()
        return True


logging.getLogger("peewee").addFilter(QueryParametersHidden())


def utc_now() -> datetime.datetime:
    # The API writes timestamps to the second; storing them so keeps reads equal to writes.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class PreparedQuery:
    """A query whose SQL text is built once per kind of database, for the hot read path.

    peewee builds the SQL anew on every call, which costs ~100 µs against ~10 µs to run an indexed
    lookup. `build` returns the query with placeholder values in the order `rows` receives them.
    """

    def __init__(self, build: Callable[[], Query]):
        self._build = build
        self._sql: dict[type, str] = {}

    def rows(self, *params) -> list[tuple]:
        kind = type(database.obj)  # the SQL differs by dialect only (placeholders, quoting)
        sql = self._sql.get(kind)
        if sql is None:
            sql = self._sql[kind] = self._build().sql()[0]
        return database.execute_sql(sql, params).fetchall()
