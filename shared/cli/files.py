"""Reading workflow files and `--input` values, with errors that name the line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class CliInputError(ValueError):
    pass


@dataclass(frozen=True)
class WorkflowFile:
    name: str
    description: str
    definition: dict[str, Any]


def load_workflow_file(path: Path) -> WorkflowFile:
    """A definition (`{"nodes": ..., "edges": ...}`) or an export (`{"name": ..., "definition": ...}`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliInputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliInputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise CliInputError(f"{path}:1: expected a JSON object with 'nodes' or 'definition'")
    if "definition" in data:
        definition = data["definition"]
        if not isinstance(definition, dict):
            raise CliInputError(f"{path}: 'definition' must be an object")
        return WorkflowFile(str(data.get("name") or path.stem), str(data.get("description") or ""), definition)
    return WorkflowFile(path.stem, "", data)


def parse_inputs(pairs: list[str], input_json: str | None) -> dict[str, Any]:
    """`--input-json` first, then each `--input key=value` on top; values are JSON when they parse."""
    values: dict[str, Any] = {}
    if input_json:
        try:
            loaded = json.loads(input_json)
        except json.JSONDecodeError as exc:
            raise CliInputError(f"--input-json: invalid JSON at column {exc.colno}: {exc.msg}") from None
        if not isinstance(loaded, dict):
            raise CliInputError("--input-json: expected a JSON object")
        values.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise CliInputError(f"--input {pair!r}: expected key=value")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


def load_credentials_file(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliInputError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CliInputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CliInputError(f"{path}: expected an object of credential name -> object of values")
    return data
