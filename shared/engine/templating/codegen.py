"""Code generation that routes loops, output, captured text, concatenation and built values through the budget.

`SandboxCodeGenerator` writes calls to `environment.<hook>(...)` into the compiled template;
`RenderHooks` is the environment's side of those calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator

from shared.engine.templating.limits import TemplateLimits, current_state
from shared.engine.templating.values import join_text, to_text

if TYPE_CHECKING:
    from jinja2.compiler import Frame


class SandboxCodeGenerator(CodeGenerator):
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


class RenderHooks:
    """The environment methods that code from `SandboxCodeGenerator` calls while a template renders."""

    limits: TemplateLimits

    def emit_value(self, value: Any, buffered: bool) -> str:
        state = current_state()
        state.check_time()
        if type(value) is str:
            text = value
        elif buffered:
            text = to_text(value, self.limits.max_value_bytes - state.buffered_bytes, state.value_too_large)
        else:
            text = to_text(value, self.limits.max_output_bytes - state.output_bytes, state.output_too_large)
        if buffered:
            state.add_buffered(text)
        return text

    def emit_text(self, text: str) -> str:
        current_state().add_buffered(text)
        return text

    def count_iterations(self, iterable: Any) -> Iterator[Any]:
        state = current_state()
        for item in iterable:
            state.count_iteration()
            yield item

    def concat_text(self, values: tuple[Any, ...]) -> str:
        state = current_state()
        return join_text(values, "", self.limits.max_output_bytes, state.string_too_large)

    def built(self, value: Any) -> Any:
        state = current_state()
        state.check_time()
        state.check_built(value)
        return value
