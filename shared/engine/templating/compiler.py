"""Parsing and compiling templates and bare expressions in the sandbox, each source once (an LRU cache)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser

from shared.engine.templating.messages import describe_failure, describe_syntax_error
from shared.engine.templating.references import check_supported, is_path, node_references, single_expression
from shared.engine.templating.sandbox import Sandbox


def has_template_markers(text: str) -> bool:
    return "{{" in text or "{%" in text


@dataclass(frozen=True)
class Compiled:
    """A compiled template, or the `problem` that kept it from compiling."""

    template: Any = None
    is_expression: bool = False
    """The template stores one expression's value as `result` instead of rendering text."""
    is_path: bool = False
    references: frozenset[str] = frozenset()
    problem: str | None = None


class Compiler:
    """`text()` compiles a template, `expression()` a bare expression; both cache up to `cache_size` sources."""

    def __init__(self, env: Sandbox, cache_size: int) -> None:
        self._env = env
        self.text = functools.lru_cache(maxsize=cache_size)(self._compile_text)
        self.expression = functools.lru_cache(maxsize=cache_size)(self._compile_expression)

    def _compile_text(self, text: str) -> Compiled:
        try:
            ast = self._env.parse(text)
            check_supported(ast)
            references = node_references(ast)
            expression = single_expression(ast)
            if expression is not None:
                return self._compile_result(expression, references)
            return Compiled(template=self._template(ast), references=references)
        except TemplateSyntaxError as exc:
            return Compiled(problem=describe_syntax_error(exc, text))
        except (RecursionError, SyntaxError, MemoryError) as exc:
            return Compiled(problem=describe_failure(exc))

    def _compile_expression(self, expression: str) -> Compiled:
        source = expression.strip()
        if not source:
            return Compiled(problem="expression is empty")
        if has_template_markers(source):
            compiled = self.text(source)
            if compiled.problem is None and not compiled.is_expression:
                return Compiled(problem="expected a bare expression such as nodes.check.output.ok, not a template")
            return compiled
        try:
            parser = Parser(self._env, source, state="variable")
            parsed = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError(
                    f"unexpected {parser.stream.current.value!r} after the expression", parser.stream.current.lineno
                )
            check_supported(parsed)
            return self._compile_result(parsed, node_references(parsed))
        except TemplateSyntaxError as exc:
            return Compiled(problem=describe_syntax_error(exc, source))
        except (RecursionError, SyntaxError, MemoryError) as exc:
            return Compiled(problem=describe_failure(exc))

    def _template(self, ast: nodes.Template) -> Any:
        with warnings.catch_warnings():
            # e.g. `{{ 1[1:] }}` compiles to Python that warns; it fails at run time with a clear message
            warnings.simplefilter("ignore", SyntaxWarning)
            template = self._env.from_string(ast)
        template.globals = dict(template.globals)  # a plain dict: a ChainMap makes every new context slow
        return template

    def _compile_result(self, expression: nodes.Expr, references: frozenset[str]) -> Compiled:
        """`{% set result = expression %}`, so the render keeps the expression's own value."""
        body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=expression.lineno)]
        ast = nodes.Template(body, lineno=1)
        ast.set_environment(self._env)
        template = self._template(ast)
        return Compiled(template=template, is_expression=True, is_path=is_path(expression), references=references)
