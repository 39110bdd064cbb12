"""The local backend: credential values encrypted with AES-256-GCM and kept in the `credentials` row.

Format (version 1): `b"\\x01" | salt (16) | nonce (12) | ciphertext + tag`. The key is derived with
HKDF-SHA256 from the master key file and the value's own salt, so no two values share a key. The
associated data binds the header, the owner id and the credential name: a ciphertext copied into
another row (another owner, another name) fails to decrypt instead of leaking into it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.vault.types import StoredValues

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
SALT_BYTES = 16
NONCE_BYTES = 12
MASTER_KEY_BYTES = 32
HKDF_INFO = b"flowbuilder/vault/v1"
AD_LABEL = b"flowbuilder-credential"


class VaultDecryptError(Exception):
    """The ciphertext is damaged, belongs to another row, or was made with another master key."""


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key, creating it (32 random bytes, mode 0600) the first time. Two processes
    starting together agree: only one `O_EXCL` create wins and the other reads its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != MASTER_KEY_BYTES:
            raise VaultDecryptError(f"the vault key file {path} is not {MASTER_KEY_BYTES} bytes") from None
        return key
    os.fchmod(fd, 0o600)  # whatever the umask
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key


def associated_data(header: bytes, owner_id: uuid.UUID, name: str) -> bytes:
    return b"\x00".join((AD_LABEL, header, owner_id.bytes, name.encode()))


class LocalBackend:
    """Values live in `credentials.ciphertext`. The master key is read on first use: from the key
    file (made if missing), or from `load_master` (in aws mode, a secret in Secrets Manager: the
    "database encryption" option, one secret for all credentials instead of one per credential)."""

    name = "local"

    def __init__(self, key_file: Path, load_master: Callable[[], bytes] | None = None) -> None:
        self.key_file = key_file
        self._load_master = load_master or (lambda: load_or_create_master_key(self.key_file))
        self._master: bytes | None = None
        self._lock = threading.Lock()

    def _master_key(self) -> bytes:
        with self._lock:
            if self._master is None:
                master = self._load_master()
                if len(master) != MASTER_KEY_BYTES:
                    raise VaultDecryptError(f"the vault master key is not {MASTER_KEY_BYTES} bytes")
                self._master = master
            return self._master

    def _aead(self, salt: bytes) -> AESGCM:
        """`cryptography` is imported here, on first use: every worker builds a backend, and most
        runs never open a credential (its native module is about 8 MB of a light worker's memory)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO)
        return AESGCM(hkdf.derive(self._master_key()))

    def encrypt(self, owner_id: uuid.UUID, name: str, values: dict[str, Any]) -> bytes:
        salt, nonce = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(NONCE_BYTES)
        header = bytes([VERSION]) + salt
        plaintext = json.dumps(values, separators=(",", ":")).encode()
        sealed = self._aead(salt).encrypt(nonce, plaintext, associated_data(header, owner_id, name))
        return header + nonce + sealed

    def decrypt(self, owner_id: uuid.UUID, name: str, blob: bytes) -> dict[str, Any]:
        if not blob or blob[0] != VERSION:
            raise VaultDecryptError(f"credential {name!r}: unknown ciphertext format")
        header_end, nonce_end = 1 + SALT_BYTES, 1 + SALT_BYTES + NONCE_BYTES
        header, nonce, sealed = blob[:header_end], blob[header_end:nonce_end], blob[nonce_end:]
        if len(nonce) != NONCE_BYTES or not sealed:
            raise VaultDecryptError(f"credential {name!r}: the ciphertext is truncated")
        aead = self._aead(header[1:])
        from cryptography.exceptions import InvalidTag

        try:
            plaintext = aead.decrypt(nonce, sealed, associated_data(header, owner_id, name))
        except InvalidTag:
            raise VaultDecryptError(f"credential {name!r} could not be decrypted (damaged or moved)") from None
        return json.loads(plaintext)

    # The backend interface `CredentialVault` uses.

    def put(self, owner_id: uuid.UUID, name: str, values: dict[str, Any], secret_ref: str | None) -> StoredValues:
        return StoredValues(secret_ref=None, ciphertext=self.encrypt(owner_id, name, values))

    def read(self, owner_id: uuid.UUID, name: str, secret_ref: str | None, ciphertext: bytes | None) -> dict[str, Any]:
        return self.decrypt(owner_id, name, ciphertext or b"")

    def remove(self, secret_ref: str | None) -> None:
        """Nothing outside the row to remove."""
