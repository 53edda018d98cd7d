"""What the key rotation tests share: its URLs, and the customer running its scripts on the emulated account."""

from warehouse_connections.devtools.snowflake_emulator import SnowflakeEmulator


def rotation_url(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/key-rotation/"


def complete_url(list_url: str, connection_id: str) -> str:
    return f"{list_url}{connection_id}/key-rotation/complete/"


def run_rotation_script(emulator: SnowflakeEmulator, connection: dict, rotation: dict) -> None:
    """What the rotation script does on the account: the user holds the new key too, in the rotation's slot."""
    config = connection["config"]
    emulator.register_user(config["account_identifier"], config["user"], rotation["public_key"], rotation["key_slot"])


def run_cleanup_script(emulator: SnowflakeEmulator, connection: dict, old_slot: str) -> None:
    config = connection["config"]
    emulator.unset_key(config["account_identifier"], config["user"], old_slot)
