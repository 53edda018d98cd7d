"""The Fernet keys that encrypt secrets at rest: from WC_SECRET_KEYS, or a key file made on first start."""

import logging
import os
import tempfile

from cryptography.fernet import Fernet, MultiFernet

from warehouse_connections.settings import Settings, SettingsError

KEY_FILE = "secret-keys"
logger = logging.getLogger(__name__)


def load_cipher(settings: Settings) -> MultiFernet:
    """The first key encrypts; every key decrypts, so an old key can stay while secrets are re-encrypted."""
    keys = settings.secret_keys or (_read_or_create_key_file(settings),)
    ciphers = []
    for position, key in enumerate(keys, start=1):
        try:
            ciphers.append(Fernet(key))
        except ValueError:
            raise SettingsError(
                f"WC_SECRET_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return MultiFernet(ciphers)


def _read_or_create_key_file(settings: Settings) -> str:
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: another worker starting at the same moment either
        # links first (and we read its key) or finds the complete file.
        fd, temporary = tempfile.mkstemp(dir=settings.data_dir)  # mode 0600
        try:
            os.write(fd, Fernet.generate_key() + b"\n")
            os.close(fd)
            os.link(temporary, path)
            logger.warning("created encryption key file %s; back it up: secrets cannot be read without it", path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
