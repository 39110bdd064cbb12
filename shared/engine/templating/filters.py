"""The sandbox's filters: Jinja's own, each wrapped in the budget checks, and replacements for those that
turn data into text (`tojson`, `join`, `format`...) so they stop at the caps."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import LoopContext, Undefined
from jinja2.utils import pass_environment

from shared.engine.errors import TemplateError
from shared.engine.templating.limits import RenderState, current_state
from shared.engine.templating.messages import label
from shared.engine.templating.operations import argument, percent_format, replace_size
from shared.engine.templating.values import join_text, to_json, to_text

_TEXT_FILTERS = frozenset(
    {
        "capitalize", "center", "e", "escape", "forceescape", "indent", "lower", "replace", "safe",
        "striptags", "title", "trim", "truncate", "upper", "wordcount", "wordwrap",
    }
)  # fmt: skip
_BUILDING_FILTERS = frozenset({"list", "sort", "reverse", "dictsort", "groupby", "sum"})
"""Filters that build a new list from their input, checked after they run (batch and slice fills before)."""
_REMOVED_FILTERS = frozenset({"urlize"})

Precheck = Callable[[RenderState, tuple[Any, ...], Mapping[str, Any]], None]


# --- the sandbox's own filters ----------------------------------------------------------------


def _tojson(value: Any, indent: int | None = None) -> str:
    state = current_state()
    return to_json(value, state.limits.max_output_bytes, state.string_too_large, indent)


def _pprint(value: Any) -> str:
    return _tojson(value, indent=2)


def _string(value: Any) -> str:
    state = current_state()
    return to_text(value, state.limits.max_output_bytes, state.string_too_large)


@pass_environment
def _join(environment: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    state = current_state()
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return join_text(value, str(d), state.limits.max_output_bytes, state.string_too_large)


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
    state = current_state()
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    items = list(iterable)
    joins_lists = isinstance(start, (list, tuple)) or any(isinstance(item, (list, tuple)) for item in items)
    if joins_lists and sum(state.weigh(item) for item in (start, *items)) > state.limits.max_value_bytes:
        raise state.value_too_large()
    return sum(items, start)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise TemplateError("format filter takes positional or keyword arguments, not both")
    state = current_state()
    return percent_format(state, to_text(value, state.limits.max_output_bytes, state.string_too_large), kwargs or args)


def _fromjson(value: Any) -> Any:
    if not isinstance(value, str):
        raise TemplateError(f"fromjson needs text, not {label(value)}")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"fromjson: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


# --- checks before a filter runs --------------------------------------------------------------


def _precheck_center(state: RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    width = argument(args, kwargs, 1, "width", 80)
    if isinstance(width, int):
        state.check_string_size(width, len(args[0]))


def _precheck_indent(state: RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    text, width = args[0], argument(args, kwargs, 1, "width", 4)
    prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    state.check_string_size(len(text) + (text.count("\n") + 1) * prefix, len(text))


def _precheck_wordwrap(state: RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    text, width = args[0], argument(args, kwargs, 1, "width", 79)
    wrapstring = argument(args, kwargs, 3, "wrapstring", None) or "\n"
    if isinstance(width, int) and isinstance(wrapstring, str):
        breaks = 2 * len(text) // max(width, 1) + text.count("\n") + 2
        state.check_string_size(len(text) + breaks * (len(wrapstring) - 1), len(text))


def _precheck_replace(state: RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    if len(args) >= 3:
        size = replace_size(args[0], args[1], args[2], argument(args, kwargs, 3, "count", -1))
        state.check_string_size(size, len(args[0]))


def _precheck_chunks(state: RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    count = args[1] if len(args) > 1 else kwargs.get("linecount", kwargs.get("slices"))
    if isinstance(count, int) and count > state.limits.max_loop_iterations:
        raise TemplateError(f"batch or slice size above {state.limits.max_loop_iterations} (max_loop_iterations)")
    fill = argument(args, kwargs, 2, "fill_with", None)
    if fill is not None and isinstance(count, int) and state.weigh(fill) * count > state.limits.max_value_bytes:
        raise state.value_too_large()


_PRECHECKS: dict[str, Precheck] = {
    "center": _precheck_center,
    "indent": _precheck_indent,
    "wordwrap": _precheck_wordwrap,
    "replace": _precheck_replace,
    "batch": _precheck_chunks,
    "slice": _precheck_chunks,
}


def _check_plain_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Undefined) or not (callable(value) or isinstance(value, LoopContext)):
            continue
        raise TemplateError(f"filters take data, not {label(value)}")


def _checked(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run against the render's budget: plain arguments, prechecks, and the size of its result."""
    value_index = 0 if getattr(function, "jinja_pass_arg", None) is None else 1
    precheck = _PRECHECKS.get(name)
    stringify = name in _TEXT_FILTERS
    builds = name in _BUILDING_FILTERS

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        state = current_state()
        state.check_time()
        _check_plain_arguments(args[value_index:], kwargs)
        if stringify and len(args) > value_index:
            value = to_text(args[value_index], state.limits.max_output_bytes, state.string_too_large)
            args = (*args[:value_index], value, *args[value_index + 1 :])
        if precheck is not None:
            precheck(state, args[value_index:], kwargs)
        result = function(*args, **kwargs)
        if isinstance(result, str):
            state.check_text(result, args[value_index] if len(args) > value_index else None)
        elif builds and isinstance(result, (list, tuple, dict)):
            state.check_built(result)
        return result

    return checked


_OWN_FILTERS = {
    "tojson": _tojson,
    "fromjson": _fromjson,
    "pprint": _pprint,
    "string": _string,
    "join": _join,
    "format": _format,
    "sum": _sum,
}

SANDBOX_FILTERS: Mapping[str, Callable[..., Any]] = {
    name: _checked(name, function)
    for name, function in {**FILTERS, **_OWN_FILTERS}.items()
    if name not in _REMOVED_FILTERS
}
"""Every filter a template may use, by name."""
