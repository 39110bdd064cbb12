"""Bounds on operations that grow a value, checked before the value is built.

String methods (`ljust`, `replace`, `join`...), `%` and `format` with their widths, and the
operators `*`, `+` and `**` each refuse a result that would pass the string, value or number cap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedFormatter

from shared.engine.errors import TemplateError
from shared.engine.templating.limits import MAX_INT_BITS, RenderState, number_too_long, utf8_size
from shared.engine.templating.messages import label
from shared.engine.templating.values import to_text

if TYPE_CHECKING:
    from shared.engine.templating.sandbox import Sandbox

_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def replace_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(old, str) and isinstance(new, str)):
        return 0
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * (len(new) - len(old))


def _check_widths(numbers: list[str], state: RenderState) -> None:
    for number in numbers:
        if len(number) > 9 or int(number) > state.limits.max_output_bytes:
            raise state.string_too_large()


class BoundedFormatter(SandboxedFormatter):
    """`str.format` whose fields reach data through the sandbox and whose widths respect the string cap."""

    def __init__(self, env: Sandbox, state: RenderState) -> None:
        super().__init__(env)
        self._state = state

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if callable(value) and not isinstance(value, Undefined):
            raise TemplateError(f"can't format {label(value)}")
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_widths(_DIGITS.findall(format_spec), self._state)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            value = to_text(value, self._state.limits.max_output_bytes, self._state.string_too_large)
        return super().format_field(value, format_spec)


def check_text_method(
    state: RenderState, text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Refuse a str method call whose result would pass the string cap, before it is built."""
    if name in _WIDTH_METHODS:
        width = argument(args, kwargs, 0, "width", 0)
        if isinstance(width, int):
            state.check_string_size(width, len(text))
    elif name == "expandtabs":
        tabsize = argument(args, kwargs, 0, "tabsize", 8)
        if isinstance(tabsize, int):
            state.check_string_size(len(text) + text.count("\t") * tabsize, len(text))
    elif name == "replace" and len(args) >= 2:
        count = argument(args, kwargs, 2, "count", -1)
        state.check_string_size(replace_size(text, args[0], args[1], count), len(text))
    elif name == "join" and args:
        items = list(args[0])
        size = sum(len(item) for item in items if isinstance(item, str)) + len(text) * max(len(items) - 1, 0)
        state.check_string_size(size)
        args = (items, *args[1:])
    return args


def percent_format(state: RenderState, template: str, values: Any) -> str:
    star = False
    for width, precision in _PERCENT_SPEC.findall(template):
        star = star or "*" in (width, precision)
        _check_widths([n for n in (width, precision) if n.isdigit()], state)
    if star:
        numbers = values if isinstance(values, tuple) else (values,)
        _check_widths([str(abs(n)) for n in numbers if isinstance(n, int)], state)
    items = values.values() if isinstance(values, dict) else values if isinstance(values, tuple) else (values,)
    for item in items:
        if callable(item) and not isinstance(item, Undefined):
            raise TemplateError(f"can't format {label(item)}")
    text = template % values
    state.check_text(text)
    return text


def check_product(state: RenderState, left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if not isinstance(times, int) or times <= 0:
            continue
        if isinstance(sequence, str):
            state.check_string_size(utf8_size(sequence) * times)
        elif isinstance(sequence, (list, tuple)) and state.weigh(sequence) * times > state.limits.max_value_bytes:
            raise state.value_too_large()
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise number_too_long()


def check_sum(state: RenderState, left: Any, right: Any) -> None:
    if isinstance(left, str) and isinstance(right, str):
        state.check_string_size(utf8_size(left) + utf8_size(right))
    elif (
        isinstance(left, (list, tuple))
        and isinstance(right, (list, tuple))
        and state.weigh(left) + state.weigh(right) > state.limits.max_value_bytes
    ):
        raise state.value_too_large()


def check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return
    if base.bit_length() * exponent > MAX_INT_BITS:
        raise number_too_long()
