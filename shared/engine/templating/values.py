"""How template values become text (output, `|string`, `|tojson`) and data (a single expression's result)."""

from __future__ import annotations

import json
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, ValuesView
from typing import Any

from jinja2.runtime import LoopContext, Undefined

from shared.engine.errors import TemplateError
from shared.engine.templating.limits import active_state, number_too_long, utf8_size
from shared.engine.templating.messages import bad_key, label

_SEQUENCE_TYPES = (list, tuple, range, KeysView, ValuesView, ItemsView)


def is_sequence(value: Any) -> bool:
    return isinstance(value, _SEQUENCE_TYPES) or (isinstance(value, Iterator) and not isinstance(value, LoopContext))


def int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:
        raise number_too_long() from None


def _scalar_text(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int_text(value)
    return str(value)


def _float_json(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def data_key(key: Any) -> str:
    """A dict key as JSON has it: text, with null, booleans and numbers written as they render."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, (bool, int, float)):
        return _scalar_text(key)
    raise bad_key(key)


def to_text(value: Any, budget: int, overflow: Callable[[], TemplateError]) -> str:
    """How every value becomes text: None and undefined as "", booleans as true/false, lists and dicts as JSON."""
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, (bool, int, float)):
        return _scalar_text(value)
    if isinstance(value, dict) or is_sequence(value):
        return to_json(value, budget, overflow)
    raise TemplateError(f"{label(value)} can't be rendered as text")


def join_text(items: Iterable[Any], separator: str, budget: int, overflow: Callable[[], TemplateError]) -> str:
    """Values as text with `separator` between them, stopping as soon as it would pass `budget` UTF-8 bytes."""
    texts = []
    for index, item in enumerate(items):
        text = (separator if index else "") + to_text(item, budget, overflow)
        budget -= utf8_size(text)
        if budget < 0:
            raise overflow()
        texts.append(text)
    return "".join(texts)


def to_json(value: Any, budget: int, overflow: Callable[[], TemplateError], indent: int | None = None) -> str:
    """JSON for template data, stopping as soon as it would pass `budget` UTF-8 bytes."""
    parts: list[str] = []
    remaining = budget
    state = active_state()
    item_separator, key_separator = (",", ":") if indent is None else (",", ": ")

    def emit(text: str) -> None:
        nonlocal remaining
        remaining -= utf8_size(text)
        if remaining < 0:
            raise overflow()
        parts.append(text)

    def newline(level: int) -> None:
        if indent is not None:
            emit("\n" + " " * (indent * level))

    def write_container(pairs: Iterable[tuple[Any, Any]], keyed: bool, level: int) -> None:
        """A dict's (key, value) pairs, or a list's items paired with None."""
        if state is not None:
            state.check_time()
        emit("{" if keyed else "[")
        empty = True
        for index, (key, child) in enumerate(pairs):
            if index:
                emit(item_separator)
            newline(level + 1)
            if keyed:
                emit(json.dumps(data_key(key), ensure_ascii=False) + key_separator)
            write(child, level + 1)
            empty = False
        if not empty:
            newline(level)
        emit("}" if keyed else "]")

    def write(item: Any, level: int) -> None:
        if isinstance(item, str):
            emit(json.dumps(str(item), ensure_ascii=False))
        elif item is None or isinstance(item, Undefined):
            emit("null")
        elif isinstance(item, float):
            emit(_float_json(item))
        elif isinstance(item, (bool, int)):
            emit(_scalar_text(item))
        elif isinstance(item, dict):
            write_container(item.items(), True, level)
        elif is_sequence(item):
            write_container(((None, child) for child in item), False, level)
        else:
            raise TemplateError(f"{label(item)} is not data and can't be turned into JSON")

    write(value, 0)
    return "".join(parts)


def to_data(value: Any, *, deep: bool = True, seen: dict[int, Any] | None = None) -> Any:
    """A template's result as JSON-like data: tuples and iterators become lists, undefined becomes None.

    `deep=False` trusts lists and dicts to be data already (the result of a plain `a.b.c` path into
    the scope, which callers fill with JSON data), so passing a large node output through costs nothing.
    Parts shared by reference are converted once (`seen`).
    """
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, Undefined):
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list)) and not deep:
        return value
    if seen is None:
        seen = {}
    elif id(value) in seen:
        return seen[id(value)]
    result: Any
    if isinstance(value, dict):
        result = {}
        changed = False
        for key, item in value.items():
            new_key = data_key(key)
            new_item = to_data(item, seen=seen)
            changed = changed or new_key is not key or new_item is not item
            result[new_key] = new_item
        result = result if changed else value
    elif isinstance(value, list):
        items = [to_data(item, seen=seen) for item in value]
        result = items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    elif is_sequence(value):
        result = [to_data(item, seen=seen) for item in value]
    else:
        raise TemplateError(f"the result is {label(value)}, not data")
    seen[id(value)] = result
    return result
