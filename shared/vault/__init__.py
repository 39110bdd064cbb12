"""Credential backends. Nodes reach them only through `NodeContext.credential(name)`."""

from shared.vault.memory import CredentialNotFound, InMemoryCredentialProvider

__all__ = ["CredentialNotFound", "InMemoryCredentialProvider"]
