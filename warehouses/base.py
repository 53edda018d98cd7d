"""What every warehouse type provides, and the error it raises for a config it cannot use."""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from warehouse_connections.settings import Settings
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
    # Whether the connection logs in with an RSA key pair the server makes (its public key is shown).
    KEY_PAIR: bool

    def validate(self, config: dict) -> None:
        """Raise InvalidConfig for a value the type cannot use safely."""

    def settle(self, config: dict, sent: dict, current: dict | None) -> dict:
        """The config to store, from `config` (the body over the defaults or the current config), the fields the
        body `sent`, and the `current` config (None at create): where the type fills in what no body gives."""

    def check_destination(self, config: dict, settings: "Settings") -> None:
        """Raise InvalidConfig if the service must not connect where the config points (create and update)."""

    def setup_script(self, connection_id: str, config: dict, public_key: str | None) -> str:
        """The SQL the customer runs in the warehouse to make this connection work."""

    def check_connection(
        self,
        connection_id: str,
        config: dict,
        public_key: str | None,
        private_key_der: bytes | None,
        settings: "Settings",
    ) -> "list[StepResult]":
        """Run the type's test steps, each in bounded time (warehouses/steps.py)."""
