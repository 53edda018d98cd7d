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
    # Every field the type accepts besides `type`, with its default (None: required).
    DEFAULTS: dict[str, str | None]
    # Fields that say which warehouse this is: changing them means a new connection.
    IMMUTABLE_FIELDS: frozenset[str]
    # Fields kept only in the encrypted secret store: never returned, logged or put in an error.
    SENSITIVE_FIELDS: frozenset[str]

    def validate(self, config: dict[str, str]) -> None:
        """Raise InvalidConfig for a value the type cannot use safely."""

    def setup_script(self, connection_id: str, config: dict[str, str], public_key: str) -> str:
        """The SQL the customer runs in the warehouse to make this connection work."""

    def check_connection(
        self, connection_id: str, config: dict[str, str], public_key: str, private_key_der: bytes, settings: "Settings"
    ) -> "list[StepResult]":
        """Run the type's test steps, each in bounded time (warehouses/steps.py)."""
