"""Errors the engine and nodes raise. Messages are shown to users: say what went wrong and where."""

from __future__ import annotations


class NodeError(Exception):
    """A node failed. `retryable` says whether another attempt could succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class TemplateError(Exception):
    """A template did not parse, or failed or exceeded a cap while rendering."""


class ExecutionNotFound(LookupError):
    pass


class CredentialNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no credential named {name!r}")
        self.name = name
