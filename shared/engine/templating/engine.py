"""`TemplateEngine`: renders templates and evaluates expressions over a scope, within `TemplateLimits`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.engine.errors import TemplateError
from shared.engine.templating.compiler import Compiled, Compiler, has_template_markers
from shared.engine.templating.limits import RenderState, TemplateLimits, rendering
from shared.engine.templating.messages import describe_failure, snippet
from shared.engine.templating.sandbox import Sandbox
from shared.engine.templating.values import to_data


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
        self._compiler = Compiler(Sandbox(self.limits), cache_size)

    @staticmethod
    def has_template(text: str) -> bool:
        return has_template_markers(text)

    def syntax_error(self, text: str) -> str | None:
        """Why `text` is not a valid template (without naming the template), or None when it parses."""
        if not self.has_template(text):
            return None
        return self._compiler.text(text).problem

    def expression_error(self, expression: str) -> str | None:
        return self._compiler.expression(expression).problem

    def render(self, text: str, scope: Mapping[str, Any]) -> Any:
        if not self.has_template(text):
            return text
        return self._run(self._compiler.text(text), "template", text, scope)

    def render_value(self, value: Any, scope: Mapping[str, Any]) -> Any:
        """Render every template string inside dicts, lists and tuples; what holds no template comes back as is."""
        try:
            return self._render_value(value, scope)
        except _PlacedTemplateError as exc:
            raise TemplateError(f"{exc.path.lstrip('.')}: {exc.problem}") from exc.__cause__

    def evaluate(self, expression: str, scope: Mapping[str, Any]) -> Any:
        """A bare expression (`nodes.a.output.status == 200`) as data; a single `{{ expr }}` is accepted too."""
        return self._run(self._compiler.expression(expression), "expression", expression, scope)

    def node_references(self, text: str, *, expression: bool = False) -> set[str]:
        """Node ids read as `nodes.<id>` or `nodes['<id>']`; ids computed at run time are not seen."""
        if expression:
            compiled = self._compiler.expression(text)
        elif not self.has_template(text):
            return set()
        else:
            compiled = self._compiler.text(text)
        if compiled.problem is not None:
            raise TemplateError(f"{snippet(text)!r} does not parse: {compiled.problem}")
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

    def _run(self, compiled: Compiled, kind: str, source: str, scope: Mapping[str, Any]) -> Any:
        if compiled.problem is not None:
            raise TemplateError(f"{kind} {snippet(source)!r} does not parse: {compiled.problem}")
        state = RenderState(self.limits, self._clock)
        with rendering(state):
            try:
                result = _produce(compiled, scope, state)
                state.check_time()
                return result
            except TemplateError as exc:
                raise TemplateError(f"{kind} {snippet(source)!r}: {exc}") from None
            except Exception as exc:
                raise TemplateError(f"{kind} {snippet(source)!r}: {describe_failure(exc)}") from exc


def _produce(compiled: Compiled, scope: Mapping[str, Any], state: RenderState) -> Any:
    """Run a compiled template: an expression's value as data, or a template's text."""
    context = compiled.template.new_context(scope)
    if compiled.is_expression:
        for _ in compiled.template.root_render_func(context):
            pass
        value = context.vars.get("result")
        result = to_data(value, deep=not compiled.is_path)
        if result is not value and isinstance(result, (list, dict)):
            # Made here from an iterator or tuple; lists and dicts built earlier were checked then.
            state.check_built(result)
        return result
    parts = []
    for part in compiled.template.root_render_func(context):
        state.add_output(part)
        parts.append(part)
    return "".join(parts)
