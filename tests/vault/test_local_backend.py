"""The local backend: AES-256-GCM under a key derived from the master key file."""

from __future__ import annotations

import stat
import uuid

import pytest

from shared.vault.local import NONCE_BYTES, SALT_BYTES, LocalBackend, VaultDecryptError

VALUES = {"token": "s3cr3t-token-value", "type_hint": "anything"}


@pytest.fixture
def backend(tmp_path) -> LocalBackend:
    return LocalBackend(tmp_path / "data" / "vault.key")


def test_values_round_trip(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    blob = backend.encrypt(owner, "github", VALUES)
    assert backend.decrypt(owner, "github", blob) == VALUES


def test_ciphertext_holds_no_plaintext(backend: LocalBackend) -> None:
    blob = backend.encrypt(uuid.uuid4(), "github", VALUES)
    assert b"s3cr3t" not in blob
    assert blob[0] == 1  # the format version


def test_each_encryption_uses_a_new_nonce_and_salt(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    first, second = backend.encrypt(owner, "github", VALUES), backend.encrypt(owner, "github", VALUES)
    header = 1 + SALT_BYTES
    assert first[header : header + NONCE_BYTES] != second[header : header + NONCE_BYTES]
    assert first[1:header] != second[1:header]
    assert first != second


def test_tampered_ciphertext_fails(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    blob = bytearray(backend.encrypt(owner, "github", VALUES))
    blob[-5] ^= 0x01
    with pytest.raises(VaultDecryptError):
        backend.decrypt(owner, "github", bytes(blob))


def test_tampered_salt_fails(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    blob = bytearray(backend.encrypt(owner, "github", VALUES))
    blob[3] ^= 0x80
    with pytest.raises(VaultDecryptError):
        backend.decrypt(owner, "github", bytes(blob))


def test_ciphertext_moved_to_another_owner_fails(backend: LocalBackend) -> None:
    blob = backend.encrypt(uuid.uuid4(), "github", VALUES)
    with pytest.raises(VaultDecryptError):
        backend.decrypt(uuid.uuid4(), "github", blob)


def test_ciphertext_moved_to_another_name_fails(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    blob = backend.encrypt(owner, "github", VALUES)
    with pytest.raises(VaultDecryptError):
        backend.decrypt(owner, "gitlab", blob)


def test_unknown_format_version_fails(backend: LocalBackend) -> None:
    owner = uuid.uuid4()
    blob = backend.encrypt(owner, "github", VALUES)
    with pytest.raises(VaultDecryptError, match="unknown ciphertext format"):
        backend.decrypt(owner, "github", b"\x02" + blob[1:])
    with pytest.raises(VaultDecryptError):
        backend.decrypt(owner, "github", blob[:20])


def test_key_file_is_created_once_with_mode_0600(tmp_path) -> None:
    key_file = tmp_path / "data" / "vault.key"
    backend = LocalBackend(key_file)
    assert not key_file.exists()  # nothing is made until a value is stored
    blob = backend.encrypt(uuid.uuid4(), "github", VALUES)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    key = key_file.read_bytes()
    LocalBackend(key_file).encrypt(uuid.uuid4(), "other", VALUES)
    assert key_file.read_bytes() == key
    assert blob


def test_another_master_key_cannot_decrypt(tmp_path) -> None:
    owner = uuid.uuid4()
    blob = LocalBackend(tmp_path / "one.key").encrypt(owner, "github", VALUES)
    with pytest.raises(VaultDecryptError):
        LocalBackend(tmp_path / "two.key").decrypt(owner, "github", blob)


def test_a_new_backend_reads_what_an_earlier_one_wrote(tmp_path) -> None:
    owner = uuid.uuid4()
    blob = LocalBackend(tmp_path / "vault.key").encrypt(owner, "github", VALUES)
    assert LocalBackend(tmp_path / "vault.key").decrypt(owner, "github", blob) == VALUES


def test_a_short_key_file_is_refused(tmp_path) -> None:
    key_file = tmp_path / "vault.key"
    key_file.write_bytes(b"too short")
    with pytest.raises(VaultDecryptError, match="not 32 bytes"):
        LocalBackend(key_file).encrypt(uuid.uuid4(), "github", VALUES)
