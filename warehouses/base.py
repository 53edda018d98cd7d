"""What every warehouse type provides, and the error it raises for a config it cannot use."""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from warehouse_connections.settings import Settings
    from warehouses.key_pair import UserKey
    from warehouses.steps import StepResult


class InvalidConfig(ValueError):
    """A config value the type cannot use. The message names the field, never its value."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"'{field}' {reason}")
        self.field = field


class WarehouseType(Protocol):
    NAME: str
    # Every field a body may give besides `type`, with its default (None: required).
    DEFAULTS: dict[str, object]
    # Fields that say which warehouse this is: changing them means a new connection.
    IMMUTABLE_FIELDS: frozenset[str]
    # Fields kept only in the encrypted secret store: never returned, logged or put in an error.
    SENSITIVE_FIELDS: frozenset[str]
    # The user properties that can hold the public key of the RSA key pair the server makes, the first for a new
    # connection; empty: the type logs in without a key pair. With two, keys rotate without downtime.
    KEY_SLOTS: tuple[str, ...]

    def validate(self, config: dict) -> None:
        """Raise InvalidConfig for a value the type cannot use safely."""

    def settle(self, config: dict, sent: dict, current: dict | None) -> dict:
        """The config to store, from `config` (the body over the defaults or the current config), the fields the
        body `sent`, and the `current` config (None at create): where the type fills in what no body gives."""

    def check_destination(self, config: dict, settings: "Settings") -> None:
        """Raise InvalidConfig if the service must not connect where the config points (create and update)."""

    def setup_script(self, connection_id: str, config: dict, key: "UserKey | None") -> str:
        """The SQL the customer runs in the warehouse to make this connection work."""

    def check_connection(
        self,
        connection_id: str,
        config: dict,
        key: "UserKey | None",
        private_key_der: bytes | None,
        settings: "Settings",
    ) -> "list[StepResult]":
        """Run the type's test steps, each in bounded time (warehouses/steps.py)."""


class KeyRotatingType(WarehouseType, Protocol):
    """A type whose user holds two public keys at once, so that a new key pair replaces the old with no downtime."""

    def rotation_script(self, connection_id: str, config: dict, new_key: "UserKey") -> str:
        """The SQL that gives the user the new key beside the current one."""

    def cleanup_script(self, connection_id: str, config: dict, old_key: "UserKey") -> str:
        """The SQL that takes the old key from the user, once the connection uses the new one."""

    def check_login(
        self, connection_id: str, config: dict, key: "UserKey", private_key_der: bytes, settings: "Settings"
    ) -> "list[StepResult]":
        """The test's steps up to and including the login, with this key: whether the warehouse accepts it."""


def rotates_keys(warehouse: WarehouseType) -> bool:
    return len(warehouse.KEY_SLOTS) > 1
