"""How values, sources and failures are named in a template's error messages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jinja2.exceptions import TemplateError as JinjaError
from jinja2.exceptions import TemplateSyntaxError
from jinja2.runtime import LoopContext, Macro

from shared.engine.errors import TemplateError

_OBJECT_REPR = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>")
_FUNCTION_PREFIX = re.compile(r"\b(?:do_|sync_do_|_)(\w+\(\))")


def label(value: Any) -> str:
    """What a value that is not data is, for a message: `a function`, `the loop object`."""
    if isinstance(value, Macro):
        return "a macro"
    if isinstance(value, LoopContext):
        return "the loop object"
    if isinstance(value, type):
        return "a type"
    if callable(value):
        return "a function"
    if isinstance(value, Iterator):
        return "an iterator (add |list)"
    return f"a value of type {type(value).__name__!r}"


def bad_key(key: Any) -> TemplateError:
    return TemplateError(f"dict keys must be text or numbers, not {label(key)}")


def snippet(source: str, limit: int = 80) -> str:
    flat = " ".join(source.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe_syntax_error(exc: TemplateSyntaxError, source: str) -> str:
    message = (exc.message or "invalid syntax").rstrip(".")
    return f"{message} (line {exc.lineno})" if "\n" in source.strip() else message


def describe_failure(exc: BaseException) -> str:
    """A failure while compiling or rendering, without Python's internals (object addresses, `do_` names)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply (recursion limit)"
    if isinstance(exc, MemoryError):
        return "ran out of memory"
    if isinstance(exc, OverflowError):
        return "number too large"
    if isinstance(exc, KeyError) and exc.args:
        return f"key {exc.args[0]!r} is missing"
    message = exc.message if isinstance(exc, JinjaError) and exc.message else str(exc)
    if not isinstance(exc, (JinjaError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError)):
        message = f"{type(exc).__name__}: {message}"
    message = (
        _FUNCTION_PREFIX.sub(r"\1", _OBJECT_REPR.sub("<object>", message))
        .replace("'NoneType' object", "null")
        .replace("'NoneType'", "null")
    )
    return message or type(exc).__name__
