"""Every worker builds the vault, and most runs never open a credential: `cryptography` (about 8 MB
of a light worker's memory) is imported only when a value is sealed or opened."""

from __future__ import annotations

import subprocess
import sys

BUILD_THEN_SEAL = """
import sys, tempfile, uuid
from pathlib import Path
from shared.vault.local import LocalBackend
from shared.vault.store import CredentialVault
backend = LocalBackend(Path(tempfile.mkdtemp()) / "vault.key")
CredentialVault(None, backend)
print("cryptography" in sys.modules)
owner = uuid.uuid4()
sealed = backend.encrypt(owner, "api", {"token": "t"})
print("cryptography" in sys.modules, backend.decrypt(owner, "api", sealed) == {"token": "t"})
"""


def test_cryptography_is_imported_only_to_seal_or_open_a_value():
    result = subprocess.run([sys.executable, "-c", BUILD_THEN_SEAL], capture_output=True, text=True, check=True)

    assert result.stdout.split() == ["False", "True", "True"]
