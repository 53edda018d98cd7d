"""peewee models. The database is bound at start-up (`models.storage.bind_database`)."""

from models.api_key import ApiKey
from models.base import BaseModel, database, utc_now
from models.connection_test import ConnectionTest
from models.key_rotation import KeyRotation
from models.organisation import Organisation
from models.secret import Secret
from models.warehouse_connection import WarehouseConnection

ALL_MODELS = [Organisation, ApiKey, WarehouseConnection, Secret, ConnectionTest, KeyRotation]

__all__ = [
    "ALL_MODELS",
    "ApiKey",
    "BaseModel",
    "ConnectionTest",
    "KeyRotation",
    "Organisation",
    "Secret",
    "WarehouseConnection",
    "database",
    "utc_now",
]
