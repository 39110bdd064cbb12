"""The template sandbox: `{{ }}` templates and bare expressions over workflow data.

Templates read `input`, `nodes.<id>.output`, `execution`, and `item`/`index` inside a for_each.
A string that is exactly one `{{ expr }}` keeps the expression's type; anything else renders to
text. Missing values never crash a template: they are None as a single expression and "" in text.

Rendering runs in Jinja's immutable sandbox, narrowed so that a template reaches only JSON-like
data and a few data methods, and bounded by `TemplateLimits`: output size, render time, loop
iterations, and the size of strings, lists and dicts a template builds on the way. Each bound
is checked while it is being approached (before a big string is built, not after), so a
hostile template fails fast with a `TemplateError` instead of exhausting a worker.
"""

from __future__ import annotations

import functools
import json
import re
import time
import warnings
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass
from types import BuiltinMethodType, MethodType
from typing import TYPE_CHECKING, Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.parser import Parser
from jinja2.runtime import ChainableUndefined, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import pass_environment

from shared.engine.errors import TemplateError

if TYPE_CHECKING:
    from jinja2.compiler import Frame

    from shared.settings import Settings

_MAX_INT_DIGITS = 4300
"""Numbers a template builds stay below this many digits (Python's own int-to-text limit)."""
_MAX_INT_BITS = _MAX_INT_DIGITS * 10 // 3


@dataclass(frozen=True)
class TemplateLimits:
    max_output_bytes: int = 64 * 1024
    """Rendered text (UTF-8), and any single string a template builds."""
    max_render_ms: int = 250
    max_loop_iterations: int = 10_000
    """All iterations of all `{% for %}` loops of one render; also the largest `range()`."""
    max_value_bytes: int = 1024 * 1024
    """Lists and dicts a template builds (estimated as JSON), and text captured by `{% set %}` blocks
    and macros before it reaches the output."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TemplateLimits:
        return cls(
            max_output_bytes=settings.template_max_output_bytes,
            max_render_ms=settings.template_max_render_ms,
            max_loop_iterations=settings.template_max_loop_iterations,
            max_value_bytes=16 * settings.template_max_output_bytes,
        )


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


# --- one render's budget --------------------------------------------------------------------


class _NotRendering(RuntimeError):
    """A sandbox hook ran outside a render: Jinja is constant-folding at compile time; let it give up."""


class _RenderState:
    __slots__ = ("buffered_bytes", "clock", "deadline", "iterations", "limits", "output_bytes", "weights")

    def __init__(self, limits: TemplateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.deadline = clock() + limits.max_render_ms / 1000
        self.output_bytes = 0
        self.buffered_bytes = 0
        self.iterations = 0
        self.weights: dict[int, tuple[Any, int]] = {}

    def check_time(self) -> None:
        if self.clock() > self.deadline:
            raise TemplateError(f"rendering took longer than {self.limits.max_render_ms} ms (max_render_ms)")

    def count_iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_loop_iterations:
            raise TemplateError(
                f"loops ran more than {self.limits.max_loop_iterations} iterations (max_loop_iterations)"
            )
        self.check_time()

    def add_output(self, text: str) -> None:
        self.output_bytes += _utf8_size(text)
        if self.output_bytes > self.limits.max_output_bytes:
            raise self.output_too_large()

    def output_too_large(self) -> TemplateError:
        return TemplateError(f"rendered output is larger than {self.limits.max_output_bytes} bytes (max_output_bytes)")

    def add_buffered(self, text: str) -> None:
        self.buffered_bytes += _utf8_size(text)
        if self.buffered_bytes > self.limits.max_value_bytes:
            raise TemplateError(
                f"{{% set %}} blocks, macros and filter blocks captured more than "
                f"{self.limits.max_value_bytes} bytes of text (max_value_bytes)"
            )

    def string_too_large(self) -> TemplateError:
        return TemplateError(
            f"template builds a string larger than {self.limits.max_output_bytes} bytes (max_output_bytes)"
        )

    def check_string_size(self, estimate: int, allowance: int = 0) -> None:
        """`estimate` is a lower bound of the new string's size; an operation may keep its input's size."""
        if estimate > self.limits.max_output_bytes and estimate > allowance:
            raise self.string_too_large()

    def check_text(self, text: str, source: Any = None) -> None:
        size = _utf8_size(text)
        if size > self.limits.max_output_bytes and not (isinstance(source, str) and size <= _utf8_size(source)):
            raise self.string_too_large()

    def check_built(self, value: Any) -> None:
        """Lists and dicts a template builds are bounded by their size as JSON, shared parts counted each time."""
        if self.weigh(value) > self.limits.max_value_bytes:
            raise self.value_too_large()

    def value_too_large(self) -> TemplateError:
        return TemplateError(
            f"template builds a list or dict larger than about {self.limits.max_value_bytes} bytes (max_value_bytes)"
        )

    def weigh(self, value: Any) -> int:
        if isinstance(value, str):
            return len(value) + 2
        if value is None or isinstance(value, (bool, float, Undefined)):
            return 5
        if isinstance(value, int):
            return 1 + value.bit_length() // 3
        if isinstance(value, range):
            return 2 + 8 * len(value)
        if not isinstance(value, (list, tuple, dict)):
            raise TemplateError(f"lists and dicts can hold only data, not {_label(value)}")
        known = self.weights.get(id(value))
        if known is not None:
            return known[1]
        self.check_time()
        limit = self.limits.max_value_bytes
        total = 2
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float)) and key is not None:
                    raise TemplateError(f"dict keys must be text or numbers, not {_label(key)}")
                total += self.weigh(key) + self.weigh(item) + 2
                if total > limit:
                    raise self.value_too_large()
        else:
            for item in value:
                total += self.weigh(item) + 1
                if total > limit:
                    raise self.value_too_large()
        self.weights[id(value)] = (value, total)
        return total


_current: ContextVar[_RenderState | None] = ContextVar("flowbuilder_template_render", default=None)


def _state() -> _RenderState:
    state = _current.get()
    if state is None:
        raise _NotRendering
    return state


# --- turning values into text and data ------------------------------------------------------

_SEQUENCE_TYPES = (list, tuple, range, KeysView, ValuesView, ItemsView)


def _label(value: Any) -> str:
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


def _is_sequence(value: Any) -> bool:
    return isinstance(value, _SEQUENCE_TYPES) or (isinstance(value, Iterator) and not isinstance(value, LoopContext))


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:
        raise TemplateError(f"number has more than {_MAX_INT_DIGITS} digits") from None


def _float_json(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _to_text(value: Any, budget: int, overflow: Callable[[], TemplateError]) -> str:
    """How every value becomes text: None and undefined as "", booleans as true/false, lists and dicts as JSON."""
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, float):
        return str(value)
    if isinstance(value, dict) or _is_sequence(value):
        return _to_json(value, budget, overflow)
    raise TemplateError(f"{_label(value)} can't be rendered as text")


def _to_json(value: Any, budget: int, overflow: Callable[[], TemplateError], indent: int | None = None) -> str:
    """JSON for template data, stopping as soon as it would pass `budget` UTF-8 bytes."""
    parts: list[str] = []
    remaining = budget
    state = _current.get()
    item_separator, key_separator = (",", ":") if indent is None else (",", ": ")

    def emit(text: str) -> None:
        nonlocal remaining
        remaining -= _utf8_size(text)
        if remaining < 0:
            raise overflow()
        parts.append(text)

    def newline(level: int) -> None:
        if indent is not None:
            emit("\n" + " " * (indent * level))

    def key_text(key: Any) -> str:
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, (bool, int, float)):
            return _to_text(key, budget, overflow) if key is not None else "null"
        raise TemplateError(f"dict keys must be text or numbers, not {_label(key)}")

    def write(item: Any, level: int) -> None:
        if isinstance(item, str):
            emit(json.dumps(str(item), ensure_ascii=False))
        elif item is None or isinstance(item, Undefined):
            emit("null")
        elif isinstance(item, bool):
            emit("true" if item else "false")
        elif isinstance(item, int):
            emit(_int_text(item))
        elif isinstance(item, float):
            emit(_float_json(item))
        elif isinstance(item, dict):
            if state is not None:
                state.check_time()
            emit("{")
            for index, (key, child) in enumerate(item.items()):
                if index:
                    emit(item_separator)
                newline(level + 1)
                emit(json.dumps(key_text(key), ensure_ascii=False) + key_separator)
                write(child, level + 1)
            if item:
                newline(level)
            emit("}")
        elif _is_sequence(item):
            if state is not None:
                state.check_time()
            emit("[")
            empty = True
            for index, child in enumerate(item):
                if index:
                    emit(item_separator)
                newline(level + 1)
                write(child, level + 1)
                empty = False
            if not empty:
                newline(level)
            emit("]")
        else:
            raise TemplateError(f"{_label(item)} is not data and can't be turned into JSON")

    write(value, 0)
    return "".join(parts)


def _to_data(value: Any, *, deep: bool = True, seen: dict[int, Any] | None = None) -> Any:
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
            new_key = key if isinstance(key, str) else _data_key(key)
            new_item = _to_data(item, seen=seen)
            changed = changed or new_key is not key or new_item is not item
            result[new_key] = new_item
        result = result if changed else value
    elif isinstance(value, list):
        items = [_to_data(item, seen=seen) for item in value]
        result = items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    elif _is_sequence(value):
        result = [_to_data(item, seen=seen) for item in value]
    else:
        raise TemplateError(f"the result is {_label(value)}, not data")
    seen[id(value)] = result
    return result


def _data_key(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, (bool, int, float)):
        return _to_text(key, _MAX_INT_DIGITS, lambda: TemplateError("dict key too long"))
    raise TemplateError(f"dict keys must be text or numbers, not {_label(key)}")


# --- code generation: count loops, captured text, concatenation and built values --------------


class _SandboxCodeGenerator(CodeGenerator):
    _output_frame: Frame | None = None
    _loop_iterables: frozenset[int] = frozenset()

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_iterables:
            return super().visit(node, *args, **kwargs)
        # A `{% for %}` loop's iterable: counted against the loop cap and the deadline as it is consumed.
        self.write("environment.count_iterations(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_iterables = self._loop_iterables | {id(node.iter)}
        super().visit_For(node, frame)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        previous, self._output_frame = self._output_frame, frame
        try:
            super().visit_Output(node, frame)
        finally:
            self._output_frame = previous

    def _output_const_repr(self, group: Any) -> str:
        text = super()._output_const_repr(group)
        if self._output_frame is not None and self._output_frame.buffer is not None:
            return f"environment.emit_text({text})"
        return text

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.emit_value(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(f", {frame.buffer is not None})")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_text((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _visit_built(self, visit: Callable[..., None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.built(")
        visit(self, node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._visit_built(CodeGenerator.visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._visit_built(CodeGenerator.visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":
            self._visit_built(CodeGenerator.visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)


# --- the sandbox --------------------------------------------------------------------------

_SAFE_OWNERS = (str, int, float, list, tuple, dict, range, LoopContext, Macro)
"""The only types whose attributes and methods a template may touch."""
_BLOCKED_ATTRIBUTES = frozenset(
    {"encode", "decode", "translate", "maketrans", "to_bytes", "from_bytes", "fromkeys", "fromhex", "mro"}
)
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
_TEXT_FILTERS = frozenset(
    {
        "capitalize", "center", "e", "escape", "forceescape", "indent", "lower", "replace", "safe",
        "striptags", "title", "trim", "truncate", "upper", "wordcount", "wordwrap",
    }
)  # fmt: skip
_BUILDING_FILTERS = frozenset({"list", "sort", "reverse", "dictsort", "groupby", "sum"})
"""Filters that build a new list from their input, checked after they run (batch and slice fills before)."""
_REMOVED_FILTERS = frozenset({"urlize"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _mark_safe(function: Callable[..., Any]) -> Callable[..., Any]:
    function.sandbox_safe = True  # type: ignore[attr-defined]
    return function


def _replace_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(old, str) and isinstance(new, str)):
        return 0
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * (len(new) - len(old))


def _check_plain_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Undefined) or not (callable(value) or isinstance(value, LoopContext)):
            continue
        raise TemplateError(f"filters take data, not {_label(value)}")


class _Missing(ChainableUndefined):
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if isinstance(self._undefined_name, str):
            return f"{self._undefined_name!r} is undefined"
        return f"item {self._undefined_name!r} is missing"


class _MissingKey(_Missing):
    """An absent dict key that names a dict method (`items`, `get`): missing as a value, the method when called."""

    __slots__ = ("_method",)

    def __init__(self, method: Callable[..., Any], obj: Any, name: str) -> None:
        super().__init__(obj=obj, name=name)
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method(*args, **kwargs)


class _BoundedFormatter(SandboxedFormatter):
    """`str.format` whose fields reach data through the sandbox and whose widths respect the string cap."""

    def __init__(self, env: _Sandbox, state: _RenderState) -> None:
        super().__init__(env)
        self._state = state

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if callable(value) and not isinstance(value, Undefined):
            raise TemplateError(f"can't format {_label(value)}")
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_widths(_DIGITS.findall(format_spec), self._state)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            value = _to_text(value, self._state.limits.max_output_bytes, self._state.string_too_large)
        return super().format_field(value, format_spec)


def _check_widths(numbers: list[str], state: _RenderState) -> None:
    for number in numbers:
        if len(number) > 9 or int(number) > state.limits.max_output_bytes:
            raise state.string_too_large()


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})
    code_generator_class = _SandboxCodeGenerator

    def __init__(self, limits: TemplateLimits) -> None:
        super().__init__(
            autoescape=False,
            undefined=_Missing,
            finalize=self._constant_text,
            keep_trailing_newline=True,
            optimized=False,
            cache_size=0,
            auto_reload=False,
        )
        self.limits = limits
        self.globals.clear()
        self.globals.update(range=_mark_safe(lambda *args: self._range(*args)), dict=_mark_safe(self._dict_function()))
        own = {
            "tojson": self._tojson,
            "fromjson": _fromjson,
            "pprint": self._pprint,
            "string": self._string,
            "join": self._join,
            "format": self._format,
            "sum": self._sum,
        }
        merged = {**FILTERS, **own}
        self.filters = {
            name: self._checked_filter(name, f) for name, f in merged.items() if name not in _REMOVED_FILTERS
        }

    # Output, captured text, loops and built values (called by the generated code).

    def _constant_text(self, value: Any) -> str:
        """Constant output folded at compile time, rendered the same way as at run time."""
        return _to_text(value, self.limits.max_output_bytes, lambda: TemplateError("constant too large"))

    def emit_value(self, value: Any, buffered: bool) -> str:
        state = _state()
        state.check_time()
        if type(value) is str:
            text = value
        elif buffered:
            text = _to_text(value, self.limits.max_value_bytes - state.buffered_bytes, state.value_too_large)
        else:
            text = _to_text(value, self.limits.max_output_bytes - state.output_bytes, state.output_too_large)
        if buffered:
            state.add_buffered(text)
        return text

    def emit_text(self, text: str) -> str:
        _state().add_buffered(text)
        return text

    def count_iterations(self, iterable: Any) -> Iterator[Any]:
        state = _state()
        for item in iterable:
            state.count_iteration()
            yield item

    def concat_text(self, values: tuple[Any, ...]) -> str:
        state = _state()
        budget = self.limits.max_output_bytes
        texts = []
        for value in values:
            text = _to_text(value, budget, state.string_too_large)
            budget -= _utf8_size(text)
            if budget < 0:
                raise state.string_too_large()
            texts.append(text)
        return "".join(texts)

    def built(self, value: Any) -> Any:
        state = _state()
        state.check_time()
        state.check_built(value)
        return value

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        try:
            size = len(numbers)
        except OverflowError:
            size = self.limits.max_loop_iterations + 1
        if size > self.limits.max_loop_iterations:
            raise TemplateError(f"range() of more than {self.limits.max_loop_iterations} numbers (max_loop_iterations)")
        return numbers

    def _dict_function(self) -> Callable[..., dict[Any, Any]]:
        def build_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
            return self.built(dict(*args, **kwargs))

        return build_dict

    # Attribute access, calls and operators.

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return (
            isinstance(obj, _SAFE_OWNERS)
            and attr not in _BLOCKED_ATTRIBUTES
            and super().is_safe_attribute(obj, attr, value)
        )

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(obj, (Macro, LoopContext, Undefined)):
            return True
        if isinstance(obj, (BuiltinMethodType, MethodType)):
            return isinstance(obj.__self__, _SAFE_OWNERS) and obj.__name__ not in _BLOCKED_ATTRIBUTES
        return getattr(obj, "sandbox_safe", False) is True

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to {attribute!r} is not allowed in templates")

    def getattr(self, obj: Any, attribute: str) -> Any:
        _state().check_time()
        if isinstance(obj, dict):
            # JSON objects: a key wins over a dict method, so `output.items` reads the "items" key.
            try:
                return obj[attribute]
            except KeyError:
                pass
        return self._attribute(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _state().check_time()
        try:
            return obj[argument]
        except (TypeError, LookupError):
            pass
        if isinstance(argument, str):
            return self._attribute(obj, argument)
        return self.undefined(obj=obj, name=argument)

    def _attribute(self, obj: Any, name: str) -> Any:
        if name.startswith("_"):
            raise SecurityError(f"access to {name!r} is not allowed in templates")
        if isinstance(obj, Undefined):
            return obj
        if not isinstance(obj, _SAFE_OWNERS):
            return self.undefined(obj=obj, name=name)
        try:
            value = getattr(obj, name)
        except AttributeError:
            return self.undefined(obj=obj, name=name)
        formatter = self.wrap_str_format(value)
        if formatter is not None:
            return formatter
        safe = self.is_safe_attribute(obj, name, value)
        if isinstance(obj, dict):
            # An absent key of a JSON object is missing, even when a dict method has its name.
            return _MissingKey(value, obj, name) if safe else self.undefined(obj=obj, name=name)
        if not safe:
            return self.unsafe_undefined(obj, name)
        return value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, (MethodType, BuiltinMethodType)) or value.__name__ not in ("format", "format_map"):
            return None
        template = value.__self__
        if not isinstance(template, str):
            return None
        is_format_map = value.__name__ == "format_map"

        def format_text(*args: Any, **kwargs: Any) -> str:
            state = _state()
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TemplateError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            text = _BoundedFormatter(self, state).vformat(str(template), args, kwargs)
            state.check_text(text)
            return text

        return _mark_safe(format_text)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        state = _state()
        state.check_time()
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"calling {_label(__obj)} is not allowed in templates")
        if isinstance(__obj, LoopContext) and args:
            args = (__self.count_iterations(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None) if isinstance(__obj, BuiltinMethodType) else None
        if isinstance(owner, str):
            args = _check_text_method(state, owner, __obj.__name__, args, kwargs)
        result = __context.call(__obj, *args, **kwargs)
        if isinstance(result, str):
            state.check_text(result, owner)
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        state = _state()
        state.check_time()
        if operator == "%" and isinstance(left, str):
            return _percent_format(state, left, right)
        if operator == "*":
            _check_product(state, left, right)
        elif operator == "+":
            _check_sum(state, left, right)
        elif operator == "**":
            _check_power(left, right)
        return self.binop_table[operator](left, right)

    # Filters.

    def _checked_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        value_index = 0 if getattr(function, "jinja_pass_arg", None) is None else 1
        precheck = _FILTER_PRECHECKS.get(name)
        stringify = name in _TEXT_FILTERS
        builds = name in _BUILDING_FILTERS

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            state = _state()
            state.check_time()
            _check_plain_arguments(args[value_index:], kwargs)
            if stringify and len(args) > value_index:
                value = _to_text(args[value_index], self.limits.max_output_bytes, state.string_too_large)
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

    def _tojson(self, value: Any, indent: int | None = None) -> str:
        state = _state()
        return _to_json(value, self.limits.max_output_bytes, state.string_too_large, indent)

    def _pprint(self, value: Any) -> str:
        return self._tojson(value, indent=2)

    def _string(self, value: Any) -> str:
        return _to_text(value, self.limits.max_output_bytes, _state().string_too_large)

    @pass_environment
    def _join(self, environment: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
        state = _state()
        if attribute is not None:
            value = map(make_attrgetter(environment, attribute), value)
        budget = self.limits.max_output_bytes
        texts = []
        separator = str(d)
        for index, item in enumerate(value):
            text = (separator if index else "") + _to_text(item, budget, state.string_too_large)
            budget -= _utf8_size(text)
            if budget < 0:
                raise state.string_too_large()
            texts.append(text)
        return "".join(texts)

    @pass_environment
    def _sum(self, environment: Any, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
        state = _state()
        if attribute is not None:
            iterable = map(make_attrgetter(environment, attribute), iterable)
        items = list(iterable)
        joins_lists = isinstance(start, (list, tuple)) or any(isinstance(item, (list, tuple)) for item in items)
        if joins_lists and sum(state.weigh(item) for item in (start, *items)) > self.limits.max_value_bytes:
            raise state.value_too_large()
        return sum(items, start)

    def _format(self, value: Any, *args: Any, **kwargs: Any) -> str:
        if args and kwargs:
            raise TemplateError("format filter takes positional or keyword arguments, not both")
        state = _state()
        return _percent_format(
            state, _to_text(value, self.limits.max_output_bytes, state.string_too_large), kwargs or args
        )


def _fromjson(value: Any) -> Any:
    if not isinstance(value, str):
        raise TemplateError(f"fromjson needs text, not {_label(value)}")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"fromjson: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _check_text_method(
    state: _RenderState, text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Refuse a str method call whose result would pass the string cap, before it is built."""
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int):
            state.check_string_size(width, len(text))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int):
            state.check_string_size(len(text) + text.count("\t") * tabsize, len(text))
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        state.check_string_size(_replace_size(text, args[0], args[1], count), len(text))
    elif name == "join" and args:
        items = list(args[0])
        size = sum(len(item) for item in items if isinstance(item, str)) + len(text) * max(len(items) - 1, 0)
        state.check_string_size(size)
        args = (items, *args[1:])
    return args


def _percent_format(state: _RenderState, template: str, values: Any) -> str:
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
            raise TemplateError(f"can't format {_label(item)}")
    text = template % values
    state.check_text(text)
    return text


def _check_product(state: _RenderState, left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if not isinstance(times, int) or times <= 0:
            continue
        if isinstance(sequence, str):
            state.check_string_size(_utf8_size(sequence) * times)
        elif isinstance(sequence, (list, tuple)) and state.weigh(sequence) * times > state.limits.max_value_bytes:
            raise state.value_too_large()
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
        raise TemplateError(f"number has more than {_MAX_INT_DIGITS} digits")


def _check_sum(state: _RenderState, left: Any, right: Any) -> None:
    if isinstance(left, str) and isinstance(right, str):
        state.check_string_size(_utf8_size(left) + _utf8_size(right))
    elif (
        isinstance(left, (list, tuple))
        and isinstance(right, (list, tuple))
        and state.weigh(left) + state.weigh(right) > state.limits.max_value_bytes
    ):
        raise state.value_too_large()


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return
    if base.bit_length() * exponent > _MAX_INT_BITS:
        raise TemplateError(f"number has more than {_MAX_INT_DIGITS} digits")


def _argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _precheck_center(state: _RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    width = _argument(args, kwargs, 1, "width", 80)
    if isinstance(width, int):
        state.check_string_size(width, len(args[0]))


def _precheck_indent(state: _RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    text, width = args[0], _argument(args, kwargs, 1, "width", 4)
    prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    state.check_string_size(len(text) + (text.count("\n") + 1) * prefix, len(text))


def _precheck_wordwrap(state: _RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    text, width = args[0], _argument(args, kwargs, 1, "width", 79)
    wrapstring = _argument(args, kwargs, 3, "wrapstring", None) or "\n"
    if isinstance(width, int) and isinstance(wrapstring, str):
        breaks = 2 * len(text) // max(width, 1) + text.count("\n") + 2
        state.check_string_size(len(text) + breaks * (len(wrapstring) - 1), len(text))


def _precheck_replace(state: _RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    if len(args) >= 3:
        size = _replace_size(args[0], args[1], args[2], _argument(args, kwargs, 3, "count", -1))
        state.check_string_size(size, len(args[0]))


def _precheck_chunks(state: _RenderState, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    count = args[1] if len(args) > 1 else kwargs.get("linecount", kwargs.get("slices"))
    if isinstance(count, int) and count > state.limits.max_loop_iterations:
        raise TemplateError(f"batch or slice size above {state.limits.max_loop_iterations} (max_loop_iterations)")
    fill = _argument(args, kwargs, 2, "fill_with", None)
    if fill is not None and isinstance(count, int) and state.weigh(fill) * count > state.limits.max_value_bytes:
        raise state.value_too_large()


_FILTER_PRECHECKS: dict[str, Callable[[_RenderState, tuple[Any, ...], Mapping[str, Any]], None]] = {
    "center": _precheck_center,
    "indent": _precheck_indent,
    "wordwrap": _precheck_wordwrap,
    "replace": _precheck_replace,
    "batch": _precheck_chunks,
    "slice": _precheck_chunks,
}


# --- compiling ----------------------------------------------------------------------------

_UNSUPPORTED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Block: "block",
}


@dataclass(frozen=True)
class _Compiled:
    template: Any = None
    is_expression: bool = False
    is_path: bool = False
    references: frozenset[str] = frozenset()
    problem: str | None = None


def _describe_syntax_error(exc: TemplateSyntaxError, source: str) -> str:
    message = (exc.message or "invalid syntax").rstrip(".")
    return f"{message} (line {exc.lineno})" if "\n" in source.strip() else message


def _check_supported(ast: nodes.Node) -> None:
    for node in ast.find_all(tuple(_UNSUPPORTED_TAGS)):
        tag = _UNSUPPORTED_TAGS[type(node)]
        raise TemplateSyntaxError(f"{{% {tag} %}} is not supported in workflow templates", node.lineno)
    for name in ast.find_all(nodes.Name):
        if name.name == "self" and name.ctx == "load":
            raise TemplateSyntaxError("'self' is not available in workflow templates", name.lineno)


def _node_references(ast: nodes.Node) -> frozenset[str]:
    found = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "nodes"):
            continue
        if isinstance(node, nodes.Getattr):
            found.add(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.add(node.arg.value)
    return frozenset(found)


def _single_expression(ast: nodes.Template) -> nodes.Expr | None:
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = [n for n in ast.body[0].nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


def _is_path(expression: nodes.Node) -> bool:
    while isinstance(expression, (nodes.Getattr, nodes.Getitem)):
        if isinstance(expression, nodes.Getitem) and not isinstance(expression.arg, nodes.Const):
            return False
        expression = expression.node
    return isinstance(expression, nodes.Name)


def _snippet(source: str, limit: int = 80) -> str:
    flat = " ".join(source.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_OBJECT_REPR = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>")
_FUNCTION_PREFIX = re.compile(r"\b(?:do_|sync_do_|_)(\w+\(\))")


def _describe_failure(exc: BaseException) -> str:
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


class _PlacedTemplateError(TemplateError):
    """A failure inside `render_value`, on its way up to the value's root, collecting where it happened."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _at(step: str, exc: TemplateError) -> _PlacedTemplateError:
    if isinstance(exc, _PlacedTemplateError):
        return _PlacedTemplateError(step + exc.path, exc.problem)
    return _PlacedTemplateError(step, str(exc))


class TemplateEngine:
    """Compiles and renders templates in the sandbox; one instance is shared and thread-safe.

    `clock` (seconds, monotonic) is for tests of the render deadline.
    """

    def __init__(
        self,
        limits: TemplateLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_size: int = 2048,
    ) -> None:
        self.limits = limits or TemplateLimits()
        self._clock = clock
        self._env = _Sandbox(self.limits)
        self._compile_text = functools.lru_cache(maxsize=cache_size)(self._compile_text_uncached)
        self._compile_expression = functools.lru_cache(maxsize=cache_size)(self._compile_expression_uncached)

    @staticmethod
    def has_template(text: str) -> bool:
        return "{{" in text or "{%" in text

    def syntax_error(self, text: str) -> str | None:
        """Why `text` is not a valid template (without naming the template), or None when it parses."""
        if not self.has_template(text):
            return None
        return self._compile_text(text).problem

    def expression_error(self, expression: str) -> str | None:
        return self._compile_expression(expression).problem

    def render(self, text: str, scope: Mapping[str, Any]) -> Any:
        if not self.has_template(text):
            return text
        return self._run(self._compile_text(text), "template", text, scope)

    def render_value(self, value: Any, scope: Mapping[str, Any]) -> Any:
        """Render every template string inside dicts, lists and tuples; what holds no template comes back as is."""
        try:
            return self._render_value(value, scope)
        except _PlacedTemplateError as exc:
            raise TemplateError(f"{exc.path.lstrip('.')}: {exc.problem}") from exc.__cause__

    def evaluate(self, expression: str, scope: Mapping[str, Any]) -> Any:
        """A bare expression (`nodes.a.output.status == 200`) as data; a single `{{ expr }}` is accepted too."""
        return self._run(self._compile_expression(expression), "expression", expression, scope)

    def node_references(self, text: str, *, expression: bool = False) -> set[str]:
        """Node ids read as `nodes.<id>` or `nodes['<id>']`; ids computed at run time are not seen."""
        if expression:
            compiled = self._compile_expression(text)
        elif not self.has_template(text):
            return set()
        else:
            compiled = self._compile_text(text)
        if compiled.problem is not None:
            raise TemplateError(f"{_snippet(text)!r} does not parse: {compiled.problem}")
        return set(compiled.references)

    def _render_value(self, value: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return self.render(value, scope) if self.has_template(value) else value
        if isinstance(value, dict):
            rendered: dict[Any, Any] = {}
            changed = False
            for key, item in value.items():
                try:
                    new = self._render_value(item, scope)
                except TemplateError as exc:
                    raise _at(f".{key}", exc) from exc.__cause__
                rendered[key] = new
                changed = changed or new is not item
            return rendered if changed else value
        if isinstance(value, (list, tuple)):
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(self._render_value(item, scope))
                except TemplateError as exc:
                    raise _at(f"[{index}]", exc) from exc.__cause__
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        return value

    def _run(self, compiled: _Compiled, kind: str, source: str, scope: Mapping[str, Any]) -> Any:
        if compiled.problem is not None:
            raise TemplateError(f"{kind} {_snippet(source)!r} does not parse: {compiled.problem}")
        state = _RenderState(self.limits, self._clock)
        token = _current.set(state)
        try:
            context = compiled.template.new_context(scope)
            if compiled.is_expression:
                for _ in compiled.template.root_render_func(context):
                    pass
                value = context.vars.get("result")
                result = _to_data(value, deep=not compiled.is_path)
                if result is not value and isinstance(result, (list, dict)):
                    # Made here from an iterator or tuple; lists and dicts built earlier were checked then.
                    state.check_built(result)
            else:
                parts = []
                for part in compiled.template.root_render_func(context):
                    state.add_output(part)
                    parts.append(part)
                result = "".join(parts)
            state.check_time()
            return result
        except TemplateError as exc:
            raise TemplateError(f"{kind} {_snippet(source)!r}: {exc}") from None
        except Exception as exc:
            raise TemplateError(f"{kind} {_snippet(source)!r}: {_describe_failure(exc)}") from exc
        finally:
            _current.reset(token)

    def _compile_text_uncached(self, text: str) -> _Compiled:
        try:
            ast = self._env.parse(text)
            _check_supported(ast)
            references = _node_references(ast)
            expression = _single_expression(ast)
            if expression is not None:
                return self._compile_result(expression, references)
            return _Compiled(template=self._template(ast), references=references)
        except TemplateSyntaxError as exc:
            return _Compiled(problem=_describe_syntax_error(exc, text))
        except (RecursionError, SyntaxError, MemoryError) as exc:
            return _Compiled(problem=_describe_failure(exc))

    def _compile_expression_uncached(self, expression: str) -> _Compiled:
        source = expression.strip()
        if not source:
            return _Compiled(problem="expression is empty")
        if self.has_template(source):
            compiled = self._compile_text(source)
            if compiled.problem is None and not compiled.is_expression:
                return _Compiled(problem="expected a bare expression such as nodes.check.output.ok, not a template")
            return compiled
        try:
            parser = Parser(self._env, source, state="variable")
            parsed = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError(
                    f"unexpected {parser.stream.current.value!r} after the expression", parser.stream.current.lineno
                )
            _check_supported(parsed)
            return self._compile_result(parsed, _node_references(parsed))
        except TemplateSyntaxError as exc:
            return _Compiled(problem=_describe_syntax_error(exc, source))
        except (RecursionError, SyntaxError, MemoryError) as exc:
            return _Compiled(problem=_describe_failure(exc))

    def _template(self, ast: nodes.Template) -> Any:
        with warnings.catch_warnings():
            # e.g. `{{ 1[1:] }}` compiles to Python that warns; it fails at run time with a clear message
            warnings.simplefilter("ignore", SyntaxWarning)
            template = self._env.from_string(ast)
        template.globals = dict(template.globals)  # a plain dict: a ChainMap makes every new context slow
        return template

    def _compile_result(self, expression: nodes.Expr, references: frozenset[str]) -> _Compiled:
        """`{% set result = expression %}`, so the render keeps the expression's own value."""
        body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=expression.lineno)]
        ast = nodes.Template(body, lineno=1)
        ast.set_environment(self._env)
        template = self._template(ast)
        return _Compiled(template=template, is_expression=True, is_path=_is_path(expression), references=references)
