"""The lifecycle of an organisation's warehouse connection, independent of HTTP."""

import re

from models import WarehouseConnection

ID_PATTERN = re.compile(r"wc_[a-z0-9]{16,60}")


class ConnectionNotFound(LookupError):
    def __init__(self, organisation_pk: int, connection_id: str):
        super().__init__(f"No warehouse connection {connection_id!r} in organisation {organisation_pk}.")


def list_for_organisation(organisation_pk: int) -> list[WarehouseConnection]:
    return list(WarehouseConnection.select().where(WarehouseConnection.organisation == organisation_pk))


def get_for_organisation(organisation_pk: int, connection_id: str) -> WarehouseConnection:
    # A malformed id cannot exist; checking it first also keeps bytes such as NUL away from the database.
    if not ID_PATTERN.fullmatch(connection_id):
        raise ConnectionNotFound(organisation_pk, connection_id[:80])
    connection = WarehouseConnection.get_or_none(
        (WarehouseConnection.id == connection_id) & (WarehouseConnection.organisation == organisation_pk)
    )
    if connection is None:
        raise ConnectionNotFound(organisation_pk, connection_id)
    return connection
