"""The settings reference, docs/settings.md, generated from `shared.settings.Settings` by
`flowbuilder settings --markdown > docs/settings.md`; a test fails when the page is stale."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shared.settings import Settings

HEADER = """# Settings

Every setting is an environment variable with the prefix `FLOWBUILDER_` (or, in aws mode, a key of
the settings secret; environment variables win). Lists and objects are JSON, e.g.
`FLOWBUILDER_EGRESS_ALLOW_NETWORKS='["10.1.0.0/16"]'`. Generated from `shared/settings.py` by
`flowbuilder settings --markdown > docs/settings.md`.

| variable | default | what it does |
|---|---|---|
"""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "a dev value"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict | tuple | frozenset | set):
        return f"`{json.dumps(sorted(value) if isinstance(value, set | frozenset) else value, default=str)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown() -> str:
    rows = [
        f"| `FLOWBUILDER_{name.upper()}` | {_default(field)} | {_cell(field.description or '')} |"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER + "\n".join(rows) + "\n"
