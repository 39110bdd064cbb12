"""The bounds on a render (`TemplateLimits`) and the budget one render spends against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2.runtime import Undefined

from shared.engine.errors import TemplateError
from shared.engine.templating.messages import bad_key, label

if TYPE_CHECKING:
    from shared.settings import Settings

MAX_INT_DIGITS = 4300
"""Numbers a template builds stay below this many digits (Python's own int-to-text limit)."""
MAX_INT_BITS = MAX_INT_DIGITS * 10 // 3


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


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def number_too_long() -> TemplateError:
    return TemplateError(f"number has more than {MAX_INT_DIGITS} digits")


class NotRendering(RuntimeError):
    """A sandbox hook ran outside a render: Jinja is constant-folding at compile time; let it give up."""


class RenderState:
    """One render's budget: its deadline, loop iterations, output and captured text, and built values."""

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
        self.output_bytes += utf8_size(text)
        if self.output_bytes > self.limits.max_output_bytes:
            raise self.output_too_large()

    def output_too_large(self) -> TemplateError:
        return TemplateError(f"rendered output is larger than {self.limits.max_output_bytes} bytes (max_output_bytes)")

    def add_buffered(self, text: str) -> None:
        self.buffered_bytes += utf8_size(text)
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
        size = utf8_size(text)
        if size > self.limits.max_output_bytes and not (isinstance(source, str) and size <= utf8_size(source)):
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
            raise TemplateError(f"lists and dicts can hold only data, not {label(value)}")
        known = self.weights.get(id(value))
        if known is not None:
            return known[1]
        self.check_time()
        limit = self.limits.max_value_bytes
        total = 2
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float)) and key is not None:
                    raise bad_key(key)
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


_current: ContextVar[RenderState | None] = ContextVar("flowbuilder_template_render", default=None)


@contextmanager
def rendering(state: RenderState) -> Iterator[None]:
    """Make `state` the budget of the render running in this context."""
    token = _current.set(state)
    try:
        yield
    finally:
        _current.reset(token)


def active_state() -> RenderState | None:
    return _current.get()


def current_state() -> RenderState:
    """The running render's budget; outside a render (compile-time constant folding), `NotRendering`."""
    state = _current.get()
    if state is None:
        raise NotRendering
    return state
