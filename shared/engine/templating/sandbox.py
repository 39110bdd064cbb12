"""The sandbox environment: what a template may read, call and compute.

Only JSON-like data, loops and macros are reachable, and only their safe methods; every read,
call and operator first checks the render's deadline, and calls and operators that grow a value
are bounded (see `operations`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import ChainableUndefined, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.engine.errors import TemplateError
from shared.engine.templating.codegen import RenderHooks, SandboxCodeGenerator
from shared.engine.templating.filters import SANDBOX_FILTERS
from shared.engine.templating.limits import TemplateLimits, current_state
from shared.engine.templating.messages import label
from shared.engine.templating.operations import (
    BoundedFormatter,
    check_power,
    check_product,
    check_sum,
    check_text_method,
    percent_format,
)
from shared.engine.templating.values import to_text

_SAFE_OWNERS = (str, int, float, list, tuple, dict, range, LoopContext, Macro)
"""The only types whose attributes and methods a template may touch."""
_BLOCKED_ATTRIBUTES = frozenset(
    {"encode", "decode", "translate", "maketrans", "to_bytes", "from_bytes", "fromkeys", "fromhex", "mro"}
)


def _mark_safe(function: Callable[..., Any]) -> Callable[..., Any]:
    function.sandbox_safe = True  # type: ignore[attr-defined]
    return function


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


class Sandbox(RenderHooks, ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})
    code_generator_class = SandboxCodeGenerator

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
        self.filters = dict(SANDBOX_FILTERS)

    def _constant_text(self, value: Any) -> str:
        """Constant output folded at compile time, rendered the same way as at run time."""
        return to_text(value, self.limits.max_output_bytes, lambda: TemplateError("constant too large"))

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

    # Attribute access.

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return (
            isinstance(obj, _SAFE_OWNERS)
            and attr not in _BLOCKED_ATTRIBUTES
            and super().is_safe_attribute(obj, attr, value)
        )

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to {attribute!r} is not allowed in templates")

    def getattr(self, obj: Any, attribute: str) -> Any:
        current_state().check_time()
        if isinstance(obj, dict):
            # JSON objects: a key wins over a dict method, so `output.items` reads the "items" key.
            try:
                return obj[attribute]
            except KeyError:
                pass
        return self._attribute(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        current_state().check_time()
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
            state = current_state()
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TemplateError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            text = BoundedFormatter(self, state).vformat(str(template), args, kwargs)
            state.check_text(text)
            return text

        return _mark_safe(format_text)

    # Calls and operators.

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(obj, (Macro, LoopContext, Undefined)):
            return True
        if isinstance(obj, (BuiltinMethodType, MethodType)):
            return isinstance(obj.__self__, _SAFE_OWNERS) and obj.__name__ not in _BLOCKED_ATTRIBUTES
        return getattr(obj, "sandbox_safe", False) is True

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        state = current_state()
        state.check_time()
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"calling {label(__obj)} is not allowed in templates")
        if isinstance(__obj, LoopContext) and args:
            args = (__self.count_iterations(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None) if isinstance(__obj, BuiltinMethodType) else None
        if isinstance(owner, str):
            args = check_text_method(state, owner, __obj.__name__, args, kwargs)
        result = __context.call(__obj, *args, **kwargs)
        if isinstance(result, str):
            state.check_text(result, owner)
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        state = current_state()
        state.check_time()
        if operator == "%" and isinstance(left, str):
            return percent_format(state, left, right)
        if operator == "*":
            check_product(state, left, right)
        elif operator == "+":
            check_sum(state, left, right)
        elif operator == "**":
            check_power(left, right)
        return self.binop_table[operator](left, right)
