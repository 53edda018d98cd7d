import datetime

from peewee import DatabaseProxy, Model

database = DatabaseProxy()


def utc_now() -> datetime.datetime:
    # The API writes timestamps to the second; storing them so keeps reads equal to writes.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
