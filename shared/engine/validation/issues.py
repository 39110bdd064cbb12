"""What validation reports: `ValidationIssue`s, collected in order, and the error that carries them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValidationIssue:
    message: str
    node: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = " ".join(part for part in (f"node {self.node!r}" if self.node else "", self.field or "") if part)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "node": self.node, "message": self.message}


class DefinitionInvalid(ValueError):
    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(issue) for issue in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"workflow definition is invalid: {shown}{more}")


class IssueLog:
    """The issues found so far, in the order the checks find them."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues

    def add(self, message: str, *, node: str | None = None, field: str | None = None) -> None:
        self.issues.append(ValidationIssue(message, node=node, field=field))


def field_path(location: tuple[Any, ...]) -> str:
    """A pydantic error location as a field path: `config.headers`, `nodes[2].id`."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def error_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message[:1].lower() + message[1:]
