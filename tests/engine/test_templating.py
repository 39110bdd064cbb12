"""The template sandbox: types, missing values, caps, injection payloads, caching."""

from __future__ import annotations

import time
from typing import Any

import pytest
from jinja2 import Environment

from shared.engine.errors import TemplateError
from shared.engine.templating import TemplateEngine, TemplateLimits
from shared.settings import Settings


@pytest.fixture
def engine() -> TemplateEngine:
    return TemplateEngine()


@pytest.fixture
def scope() -> dict[str, Any]:
    return {
        "input": {"n": 42, "name": "Ada", "price": 9.5, "tags": ["a", "b"], "flag": True, "nothing": None},
        "nodes": {"fetch": {"output": {"status": 200, "body": {"items": [1, 2, 3]}, "items": ["x", "y"]}}},
        "execution": {"id": "exec-1", "trigger": "manual"},
    }


def small(**limits: int) -> TemplateEngine:
    return TemplateEngine(TemplateLimits(**limits))


# --- types ---------------------------------------------------------------------------------


def test_single_expression_keeps_number_type(engine, scope):
    assert engine.render("{{ input.n }}", scope) == 42


def test_single_expression_keeps_float_type(engine, scope):
    assert engine.render("{{ input.price }}", scope) == 9.5


def test_single_expression_keeps_bool_type(engine, scope):
    assert engine.render("{{ input.flag }}", scope) is True


def test_single_expression_keeps_dict_type(engine, scope):
    assert engine.render("{{ nodes.fetch.output.body }}", scope) == {"items": [1, 2, 3]}


def test_single_expression_keeps_list_type(engine, scope):
    assert engine.render("{{ input.tags }}", scope) == ["a", "b"]


def test_single_expression_keeps_none(engine, scope):
    assert engine.render("{{ input.nothing }}", scope) is None


def test_single_expression_allows_surrounding_whitespace(engine, scope):
    assert engine.render("  {{ input.n }}\n", scope) == 42


def test_single_expression_computes_values(engine, scope):
    assert engine.render("{{ input.n * 2 + 1 }}", scope) == 85


def test_single_expression_builds_lists_and_dicts(engine, scope):
    assert engine.render("{{ {'who': input.name, 'tags': input.tags + ['c']} }}", scope) == {
        "who": "Ada",
        "tags": ["a", "b", "c"],
    }


def test_tuple_result_becomes_list(engine, scope):
    assert engine.render("{{ (1, input.n) }}", scope) == [1, 42]


def test_lazy_filter_result_becomes_list(engine, scope):
    assert engine.render("{{ input.tags|map('upper') }}", scope) == ["A", "B"]


def test_text_around_expression_renders_string(engine, scope):
    assert engine.render("n={{ input.n }}", scope) == "n=42"


def test_two_expressions_render_string(engine, scope):
    assert engine.render("{{ input.n }}{{ input.n }}", scope) == "4242"


def test_dict_inside_text_renders_as_compact_json(engine, scope):
    assert engine.render("body: {{ nodes.fetch.output.body }}", scope) == 'body: {"items":[1,2,3]}'


def test_booleans_inside_text_render_as_json(engine, scope):
    assert engine.render("flag={{ input.flag }}", scope) == "flag=true"


def test_none_inside_text_renders_empty(engine, scope):
    assert engine.render("[{{ input.nothing }}]", scope) == "[]"


def test_trailing_newline_is_kept(engine, scope):
    assert engine.render("Hi {{ input.name }}\n", scope) == "Hi Ada\n"


def test_plain_string_is_returned_unchanged(engine, scope):
    text = "no templates here, just {braces}"
    assert engine.render(text, scope) is text


def test_statement_template_renders_string(engine, scope):
    assert engine.render("{% for t in input.tags %}{{ t }};{% endfor %}", scope) == "a;b;"


def test_item_and_index_are_readable(engine, scope):
    assert engine.render("{{ index }}:{{ item.id }}", {**scope, "item": {"id": "i7"}, "index": 3}) == "3:i7"


def test_execution_is_readable(engine, scope):
    assert engine.render("{{ execution.id }}", scope) == "exec-1"


def test_dict_key_wins_over_dict_method(engine, scope):
    assert engine.render("{{ nodes.fetch.output.items }}", scope) == ["x", "y"]


def test_dict_methods_work_when_no_key_shadows_them(engine, scope):
    assert engine.render("{{ nodes.fetch.output.body.keys()|list }}", scope) == ["items"]
    assert engine.render("{% for k, v in input.items() if k == 'n' %}{{ k }}={{ v }}{% endfor %}", scope) == "n=42"
    assert engine.render("{{ input.get('missing', 'fallback') }}", scope) == "fallback"


def test_absent_key_named_like_a_dict_method_is_missing(engine, scope):
    assert engine.render("{{ input.items }}", scope) is None
    assert engine.render("[{% for x in input.values %}{{ x }}{% endfor %}]", scope) == "[]"


def test_absent_key_named_like_a_mutating_method_is_missing(engine, scope):
    assert engine.render("{{ input.update }}", scope) is None


def test_data_key_starting_with_underscore_is_readable(engine):
    assert engine.render("{{ input._private }}", {"input": {"_private": 1}}) == 1


# --- missing values ----------------------------------------------------------------------------


def test_missing_input_is_none_as_single_expression(engine, scope):
    assert engine.render("{{ input.missing }}", scope) is None


def test_missing_input_is_empty_inside_text(engine, scope):
    assert engine.render("a{{ input.missing }}b", scope) == "ab"


def test_chained_missing_node_output_is_none(engine, scope):
    assert engine.render("{{ nodes.x.output.a.b }}", scope) is None


def test_chained_missing_node_output_is_empty_inside_text(engine, scope):
    assert engine.render("<{{ nodes.x.output.a.b }}>", scope) == "<>"


def test_attribute_of_null_is_none(engine, scope):
    assert engine.render("{{ input.nothing.deeper }}", scope) is None


def test_missing_list_item_is_none(engine, scope):
    assert engine.render("{{ input.tags[5] }}", scope) is None


def test_default_filter_replaces_missing_value(engine, scope):
    assert engine.render("{{ input.missing|default('n/a') }}", scope) == "n/a"


def test_loop_over_missing_value_runs_zero_times(engine, scope):
    assert engine.render("[{% for x in input.missing %}{{ x }}{% endfor %}]", scope) == "[]"


def test_arithmetic_on_missing_value_raises_template_error(engine, scope):
    with pytest.raises(TemplateError, match="'missing' is undefined"):
        engine.render("{{ input.missing + 1 }}", scope)


# --- evaluate --------------------------------------------------------------------------------


def test_evaluate_returns_python_value(engine, scope):
    assert engine.evaluate("nodes.fetch.output.status == 200", scope) is True


def test_evaluate_missing_value_compares_not_equal(engine, scope):
    assert engine.evaluate("nodes.nope.output.status == 200", scope) is False


def test_evaluate_missing_value_is_none(engine, scope):
    assert engine.evaluate("input.missing", scope) is None


def test_evaluate_combines_conditions(engine, scope):
    assert engine.evaluate("input.n > 40 and 'a' in input.tags", scope) is True


def test_evaluate_accepts_single_braced_expression(engine, scope):
    assert engine.evaluate("{{ input.n }}", scope) == 42


def test_evaluate_error_names_expression(engine, scope):
    with pytest.raises(TemplateError, match=r"expression 'input.n / 0': division by zero"):
        engine.evaluate("input.n / 0", scope)


# --- render_value ------------------------------------------------------------------------------


def test_render_value_returns_same_object_without_templates(engine, scope):
    config = {"url": "https://example.com", "retries": 3, "headers": {"a": "b"}, "tags": ["x", 1, None]}
    assert engine.render_value(config, scope) is config


def test_render_value_does_not_call_jinja_without_templates(engine, scope, monkeypatch):
    def no_jinja(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("jinja was called")

    monkeypatch.setattr(Environment, "parse", no_jinja)
    monkeypatch.setattr(Environment, "compile", no_jinja)
    config = {"url": "https://example.com", "nested": [{"x": "y"}, ("a", 2.5)], "flag": False}
    assert engine.render_value(config, scope) is config


def test_render_value_renders_nested_templates(engine, scope):
    config = {
        "url": "https://x/{{ input.name }}",
        "body": {"n": "{{ input.n }}", "list": ["{{ input.flag }}", "plain"]},
    }
    assert engine.render_value(config, scope) == {
        "url": "https://x/Ada",
        "body": {"n": 42, "list": [True, "plain"]},
    }


def test_render_value_keeps_untouched_parts_identical(engine, scope):
    untouched = {"deep": ["x"]}
    rendered = engine.render_value({"a": "{{ input.n }}", "b": untouched}, scope)
    assert rendered["b"] is untouched


def test_render_value_keeps_tuples(engine, scope):
    assert engine.render_value(("{{ input.n }}", 1), scope) == (42, 1)


def test_render_value_error_names_the_path(engine, scope):
    with pytest.raises(TemplateError, match=r"^body\.items\[1\]: template '\{\{ 1 / 0 \}\}': division by zero$"):
        engine.render_value({"body": {"items": ["ok", "{{ 1 / 0 }}"]}}, scope)


# --- syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["{{ x }}", "a {% if x %}b{% endif %}", "{{"])
def test_has_template_detects_template_markers(text):
    assert TemplateEngine.has_template(text)


@pytest.mark.parametrize("text", ["", "plain", "{ x }", "{# comment #}", "}}"])
def test_has_template_ignores_plain_text(text):
    assert not TemplateEngine.has_template(text)


def test_syntax_error_is_none_for_valid_template(engine):
    assert engine.syntax_error("Hello {{ input.name|upper }}{% if input.n %}!{% endif %}") is None


def test_syntax_error_is_none_for_plain_text(engine):
    assert engine.syntax_error("just text") is None


def test_syntax_error_describes_problem(engine):
    assert engine.syntax_error("{{ input.name | }}") == "expected token 'name', got 'end of print statement'"


def test_syntax_error_names_line_in_multiline_template(engine):
    assert "(line 2)" in engine.syntax_error("first\n{% if %}")


def test_syntax_error_reports_unknown_filter(engine):
    assert engine.syntax_error("{{ input.name|shout }}") == "No filter named 'shout'"


def test_syntax_error_reports_unclosed_block(engine):
    assert "endfor" in engine.syntax_error("{% for x in input.tags %}{{ x }}")


@pytest.mark.parametrize(
    "tag", ["{% include 'x' %}", "{% extends 'x' %}", "{% import 'x' as y %}", "{% block b %}{% endblock %}"]
)
def test_template_loading_tags_are_not_supported(engine, tag):
    assert "is not supported in workflow templates" in engine.syntax_error(tag)


def test_render_of_invalid_template_names_template_and_problem(engine, scope):
    with pytest.raises(TemplateError, match=r"^template '\{\{ input\.name \| \}\}' does not parse: expected token"):
        engine.render("{{ input.name | }}", scope)


def test_expression_error_is_none_for_valid_expression(engine):
    assert engine.expression_error("nodes.a.output.status == 200 and input.x") is None


def test_expression_error_describes_problem(engine):
    assert engine.expression_error("nodes.a.output.status ==") == "unexpected 'end of template'"


def test_expression_error_reports_text_after_expression(engine):
    assert engine.expression_error("a b") == "unexpected 'b' after the expression"


def test_expression_error_reports_empty_expression(engine):
    assert engine.expression_error("   ") == "expression is empty"


def test_expression_error_rejects_template_text(engine):
    assert "not a template" in engine.expression_error("{{ a }} and {{ b }}")


# --- node references -------------------------------------------------------------------------


def test_node_references_finds_attribute_access(engine):
    assert engine.node_references("{{ nodes.fetch.output.body }} {{ nodes.parse.output }}") == {"fetch", "parse"}


def test_node_references_finds_item_access(engine):
    assert engine.node_references("{{ nodes['my-node'].output }}") == {"my-node"}


def test_node_references_looks_inside_statements_and_filters(engine):
    text = "{% for x in nodes.list.output %}{{ x|default(nodes.fallback.output) }}{% endfor %}"
    assert engine.node_references(text) == {"list", "fallback"}


def test_node_references_ignores_computed_ids(engine):
    assert engine.node_references("{{ nodes[input.which].output }}") == set()


def test_node_references_ignores_other_roots(engine):
    assert engine.node_references("{{ input.nodes.fetch }} {{ item.output }}") == set()


def test_node_references_of_expression(engine):
    assert engine.node_references("nodes.check.output.ok and nodes['x'].output", expression=True) == {"check", "x"}


def test_node_references_of_plain_text_is_empty(engine):
    assert engine.node_references("nodes.fetch.output") == set()


def test_node_references_of_invalid_template_raises(engine):
    with pytest.raises(TemplateError, match="does not parse"):
        engine.node_references("{{ nodes.a.output | }}")


# --- filters -------------------------------------------------------------------------------


def test_tojson_is_compact(engine, scope):
    assert engine.render("{{ nodes.fetch.output.body|tojson }}", scope) == '{"items":[1,2,3]}'


def test_tojson_keeps_unicode(engine):
    assert engine.render("{{ input|tojson }}", {"input": {"name": "Zoë"}}) == '{"name":"Zoë"}'


def test_fromjson_parses_text(engine):
    assert engine.render("{{ input.raw|fromjson }}", {"input": {"raw": '{"a": [1, 2]}'}}) == {"a": [1, 2]}


def test_fromjson_of_invalid_json_raises_template_error(engine):
    with pytest.raises(TemplateError, match="fromjson: invalid JSON"):
        engine.render("{{ 'nope'|fromjson }}", {})


def test_builtin_filters_are_available(engine, scope):
    assert engine.render("{{ input.tags|join(', ')|upper }} {{ input.price|round|int }}", scope) == "A, B 10"


def test_string_filter_renders_like_output(engine, scope):
    assert engine.render("{{ nodes.fetch.output.body|string }}", scope) == '{"items":[1,2,3]}'


def test_string_format_works(engine, scope):
    assert engine.render("{{ '{}-{:03d}'.format(input.name, 7) }}", scope) == "Ada-007"


def test_percent_format_works(engine, scope):
    assert engine.render("{{ '%s has %d'|format(input.name, input.n) }}", scope) == "Ada has 42"


# --- caps ----------------------------------------------------------------------------------


def test_limits_come_from_settings():
    settings = Settings(template_max_output_bytes=10, template_max_render_ms=20, template_max_loop_iterations=30)
    limits = TemplateLimits.from_settings(settings)
    assert (limits.max_output_bytes, limits.max_render_ms, limits.max_loop_iterations) == (10, 20, 30)


def test_output_exactly_at_byte_cap_renders():
    engine = small(max_output_bytes=100)
    assert len(engine.render("{{ input.s }}!", {"input": {"s": "x" * 99}})) == 100


def test_output_over_byte_cap_fails():
    engine = small(max_output_bytes=100)
    with pytest.raises(TemplateError, match=r"rendered output is larger than 100 bytes \(max_output_bytes\)"):
        engine.render("{{ input.s }}!", {"input": {"s": "x" * 100}})


def test_output_cap_counts_utf8_bytes():
    engine = small(max_output_bytes=100)
    assert engine.render("{{ input.s }}", {"input": {"s": "é" * 50}}) == "é" * 50
    with pytest.raises(TemplateError, match="max_output_bytes"):
        engine.render("{{ input.s }}!", {"input": {"s": "é" * 50}})


def test_output_from_loop_exactly_at_byte_cap_renders():
    engine = small(max_output_bytes=100)
    assert engine.render("{% for i in range(100) %}x{% endfor %}", {}) == "x" * 100


def test_output_from_loop_over_byte_cap_fails():
    engine = small(max_output_bytes=100)
    with pytest.raises(TemplateError, match="max_output_bytes"):
        engine.render("{% for i in range(101) %}x{% endfor %}", {})


def test_built_string_exactly_at_byte_cap_is_allowed():
    engine = small(max_output_bytes=100)
    assert engine.render("{{ 'ab' * 50 }}", {}) == "ab" * 50


def test_built_string_over_byte_cap_fails():
    engine = small(max_output_bytes=100)
    with pytest.raises(TemplateError, match=r"string larger than 100 bytes \(max_output_bytes\)"):
        engine.render("{{ 'a' * 101 }}", {})


def test_giant_string_fails_before_it_is_built(engine):
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="max_output_bytes"):
        engine.render("{{ 'a' * 10**12 }}", {})
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "template",
    [
        "{{ ('x' * 60000) ~ ('x' * 60000) }}",
        "{{ ('x' * 60000) + ('x' * 60000) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x'|center(10**9) }}",
        "{{ ('x' * 60000).replace('x', 'xx') }}",
        "{{ ('x' * 60000)|replace('x', 'xx') }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:999999999}'.format(1) }}",
        "{{ 'ab'|wordwrap(1, wrapstring='x' * 60000) }}",
        "{{ ('x' * 60000)|indent(60000) }}",
        "{{ ['x' * 60000, 'y' * 60000]|join }}",
        "{{ '\t'.expandtabs(10**9) }}",
    ],
)
def test_string_building_operations_respect_byte_cap(engine, template):
    with pytest.raises(TemplateError, match="max_output_bytes"):
        engine.render(template, {})


def test_loop_iterations_exactly_at_cap_run():
    engine = small(max_loop_iterations=10)
    assert engine.render("{% for x in input.xs %}.{% endfor %}", {"input": {"xs": list(range(10))}}) == "." * 10


def test_loop_iterations_over_cap_fail():
    engine = small(max_loop_iterations=10)
    with pytest.raises(TemplateError, match=r"more than 10 iterations \(max_loop_iterations\)"):
        engine.render("{% for x in input.xs %}.{% endfor %}", {"input": {"xs": list(range(11))}})


def test_nested_loop_iterations_count_together_at_cap():
    engine = small(max_loop_iterations=10)  # 2 outer + 2 * 4 inner
    template = "{% for a in input.outer %}{% for b in input.inner %}.{% endfor %}{% endfor %}"
    assert engine.render(template, {"input": {"outer": [1, 2], "inner": [1, 2, 3, 4]}}) == "." * 8


def test_nested_loop_iterations_over_cap_fail():
    engine = small(max_loop_iterations=10)  # 2 outer + 2 * 5 inner
    template = "{% for a in input.outer %}{% for b in input.inner %}.{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="max_loop_iterations"):
        engine.render(template, {"input": {"outer": [1, 2], "inner": [1, 2, 3, 4, 5]}})


def test_consecutive_loops_share_the_cap():
    engine = small(max_loop_iterations=10)
    template = "{% for a in input.xs %}{% endfor %}{% for b in input.xs %}{% endfor %}"
    assert engine.render(template, {"input": {"xs": [1] * 5}}) == ""
    with pytest.raises(TemplateError, match="max_loop_iterations"):
        engine.render(template + "{% for c in [1] %}{% endfor %}", {"input": {"xs": [1] * 5}})


def test_recursive_loop_iterations_are_counted():
    engine = small(max_loop_iterations=4)  # 2 outer + 2 inner, then 3 outer + 2 inner
    template = (
        "{% for x in input.tree recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}{% endfor %}"
    )
    assert engine.render(template, {"input": {"tree": [[1, 2], 3]}}) == "123"
    with pytest.raises(TemplateError, match="max_loop_iterations"):
        engine.render(template, {"input": {"tree": [[1, 2], 3, 4]}})


def test_range_exactly_at_loop_cap_is_allowed():
    engine = small(max_loop_iterations=10)
    assert engine.render("{{ range(10)|list }}", {}) == list(range(10))


def test_range_over_loop_cap_fails():
    engine = small(max_loop_iterations=10)
    with pytest.raises(TemplateError, match=r"range\(\) of more than 10 numbers \(max_loop_iterations\)"):
        engine.render("{{ range(11)|list }}", {})


class SteppedClock:
    """The render starts at 1000.0 s; every later reading is `elapsed` seconds after that."""

    def __init__(self, elapsed: float) -> None:
        self.elapsed = elapsed
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return 1000.0 if self.readings == 1 else 1000.0 + self.elapsed


def test_render_taking_exactly_the_time_cap_passes():
    engine = TemplateEngine(TemplateLimits(max_render_ms=250), clock=SteppedClock(elapsed=0.25))
    assert engine.render("{% for x in input.xs %}{{ x }}{% endfor %}", {"input": {"xs": [1, 2]}}) == "12"


def test_render_over_the_time_cap_fails():
    engine = TemplateEngine(TemplateLimits(max_render_ms=250), clock=SteppedClock(elapsed=0.251))
    with pytest.raises(TemplateError, match=r"longer than 250 ms \(max_render_ms\)"):
        engine.render("{% for x in input.xs %}{{ x }}{% endfor %}", {"input": {"xs": [1, 2]}})


def test_time_cap_stops_a_long_loop_early():
    class TickingClock:
        def __init__(self) -> None:
            self.now = 0.0

        def __call__(self) -> float:
            self.now += 0.001
            return self.now

    clock = TickingClock()
    engine = TemplateEngine(TemplateLimits(max_render_ms=50), clock=clock)
    with pytest.raises(TemplateError, match="max_render_ms"):
        engine.render("{% for i in range(10000) %}{{ i }}{% endfor %}", {})
    assert clock.now < 0.2


def test_time_cap_applies_to_evaluate():
    engine = TemplateEngine(TemplateLimits(max_render_ms=250), clock=SteppedClock(elapsed=0.3))
    with pytest.raises(TemplateError, match="max_render_ms"):
        engine.evaluate("input.x == 1", {"input": {"x": 1}})


def test_built_list_over_value_cap_fails():
    engine = small(max_value_bytes=1000)
    with pytest.raises(TemplateError, match=r"larger than about 1000 bytes \(max_value_bytes\)"):
        engine.render("{{ [input.s] * 20 }}", {"input": {"s": "x" * 100}})


def test_built_list_under_value_cap_is_allowed():
    engine = small(max_value_bytes=1000)
    assert engine.render("{{ [input.s] * 5 }}", {"input": {"s": "x" * 100}}) == ["x" * 100] * 5


def test_large_scope_data_passed_through_is_not_capped():
    engine = small(max_value_bytes=100, max_output_bytes=100)
    big = [{"id": i, "name": f"item {i}"} for i in range(1000)]
    assert engine.render("{{ input.big|default([]) }}", {"input": {"big": big}}) is big


def test_list_materialized_from_an_iterator_is_capped():
    engine = small(max_value_bytes=100)
    with pytest.raises(TemplateError, match="max_value_bytes"):
        engine.render("{{ input.big|map(attribute='name') }}", {"input": {"big": [{"name": "x" * 20}] * 10}})


@pytest.mark.parametrize(
    "doubling",
    [
        "{% set a = [a, a] %}",
        "{% set a = (a, a)|list %}",
        "{% set a = dict(k=a, j=a) %}",
        "{% set a = [a] + [a] %}",
        "{% set a = [a]|batch(2, a)|list %}",
        "{% set a = [none, none]|map('default', a, true)|list %}",
        "{% set a = [[a], [a]]|sum(start=[]) %}",
    ],
)
def test_exponentially_shared_values_fail_fast(engine, doubling):
    template = "{% set a = 'x' * 1000 %}" + doubling * 40 + "{{ a|string|length }}"
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="max_value_bytes"):
        engine.render(template, {})
    assert time.perf_counter() - started < 1


def test_text_captured_by_set_blocks_is_capped(engine):
    template = "{% set x = 'y' * 1000 %}" + "{% set x %}{{ x }}{{ x }}{% endset %}" * 40 + "{{ x|length }}"
    with pytest.raises(TemplateError, match="max_value_bytes"):
        engine.render(template, {})


def test_huge_numbers_are_refused(engine):
    with pytest.raises(TemplateError, match="more than 4300 digits"):
        engine.render("{{ 2 ** 100000 }}", {})


def test_runaway_macro_recursion_fails_cleanly(engine):
    with pytest.raises(TemplateError, match="nested too deeply"):
        engine.render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", {})


# --- sandbox ---------------------------------------------------------------------------------

SECRET = "s3cr3t-flowbuilder-value"

INJECTION_PAYLOADS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__()[40]('/etc/passwd').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.environ }}",
    "{{ namespace.__init__.__globals__.os.environ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__.os.environ.FLOWBUILDER_TEST_SECRET }}",
    "{{ range.__globals__.os.environ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ dict.mro() }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ config.__class__.__init__.__globals__['os'].environ }}",
    "{{ self }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ range(10**9)|list }}",
    "{{ 'a' * 10**9 }}",
    "{% for i in range(10**6) %}{% endfor %}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(range) }}",
    "{{ '{a.__class__}'.format_map({'a': 1}) }}",
    "{{ '{0!r}'.format(range) }}",
    "{{ '%r' % range }}",
    "{{ ''|attr('__class__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''|attr('__cla' ~ 'ss__') }}",
    "{{ ['__class__']|map('attr')|list }}",
    "{{ [{'a': 1}]|map(attribute='__class__')|list }}",
    "{{ input|selectattr('__class__')|list }}",
    "{{ x.__dict__ }}",
    "{{ input.__class__ }}",
    "{{ input['__class__'] }}",
    "{{ input.__init__.__globals__ }}",
    "{{ input.items().__iter__ }}",
    "{{ input.x.__add__(1) }}",
    "{{ lipsum }}",
    "{{ lipsum() }}",
    "{{ namespace }}",
    "{{ joiner }}",
    "{{ cycler }}",
    "{{ range }}",
    "{{ range|string }}",
    "{{ range|pprint }}",
    "{{ 'x' ~ range }}",
    "{{ [range] }}",
    "{{ ''.join }}",
    "{{ input.x.to_bytes(10**9, 'big') }}",
    "{{ 'x'.encode() }}",
    "{{ 'x'.translate({120: 'y' * 60000}) }}",
    "{{ {}.fromkeys(range(10), 'x') }}",
    "{{ [].append(1) }}",
    "{{ input.update({'x': 2}) }}",
    "{% set ns = namespace(a=1) %}{{ ns }}",
    "{% for x in [1] %}{{ loop }}{% endfor %}",
    "{% for x in [1] %}{{ loop|string }}{% endfor %}",
    "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
    "{% macro m() %}{% endmacro %}{{ m }}",
    "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "{% macro m() %}{% endmacro %}{{ m|string }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% extends '/etc/passwd' %}",
    "{% debug %}",
    "{{ environment }}",
    "{{ context }}",
    "{{ __builtins__ }}",
    "{{ getattr }}",
]


@pytest.mark.parametrize("payload", INJECTION_PAYLOADS)
def test_injection_payload_fails_safely(engine, payload, monkeypatch):
    monkeypatch.setenv("FLOWBUILDER_TEST_SECRET", SECRET)
    try:
        shown = repr(engine.render(payload, {"input": {"x": 1}, "nodes": {}, "execution": {}}))
    except TemplateError as exc:
        shown = str(exc)
    assert SECRET not in shown
    for leak in ("<class", "<function", "<built-in", "<bound", " at 0x", "Traceback", "root:", "uid=", "os.environ("):
        assert leak not in shown


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("{{ ''.__class__ }}", "access to '__class__' is not allowed"),
        ("{{ ''|attr('__class__') }}", "access to '__class__' is not allowed"),
        ("{{ '{0.__class__}'.format(1) }}", "access to '__class__' is not allowed"),
        ("{{ [].append(1) }}", "access to 'append' is not allowed"),
        ("{{ range }}", "the result is a function, not data"),
        ("{{ 'x' ~ range }}", "a function can't be rendered as text"),
        ("{{ self }}", "'self' is not available"),
    ],
)
def test_unsafe_access_is_refused_with_a_clear_message(engine, payload, problem):
    with pytest.raises(TemplateError, match=problem):
        engine.render(payload, {})


@pytest.mark.parametrize("name", ["lipsum", "cycler", "joiner", "namespace", "config", "request"])
def test_removed_and_web_globals_are_undefined(engine, name):
    assert engine.render("{{ " + name + " }}", {}) is None


def test_attributes_of_non_data_objects_are_not_reachable(engine):
    class Service:
        secret = SECRET

        def delete_everything(self) -> str:
            return SECRET

    assert engine.render("{{ input.service.secret }}", {"input": {"service": Service()}}) is None
    with pytest.raises(TemplateError):
        engine.render("{{ input.service.delete_everything() }}", {"input": {"service": Service()}})


def test_environment_variables_are_not_reachable(engine, monkeypatch):
    monkeypatch.setenv("FLOWBUILDER_TEST_SECRET", SECRET)
    for template in ("{{ env.FLOWBUILDER_TEST_SECRET }}", "{{ environ }}", "{{ os.environ }}"):
        assert engine.render(template, {}) is None


# --- compilation and speed --------------------------------------------------------------------


def test_each_template_is_compiled_once(engine, scope, monkeypatch):
    compiled: list[Any] = []
    original = Environment.compile

    def counting_compile(self: Environment, *args: Any, **kwargs: Any) -> Any:
        compiled.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counting_compile)
    for _ in range(3):
        engine.render("Hi {{ input.name }}", scope)
        engine.evaluate("input.n > 1", scope)
        engine.syntax_error("Hi {{ input.name }}")
    assert len(compiled) == 2


def test_rendering_a_short_template_takes_microseconds(engine, scope):
    engine.render("{{ input.n }}", scope)
    started = time.perf_counter()
    for _ in range(1000):
        engine.render("{{ input.n }}", scope)
    assert (time.perf_counter() - started) / 1000 < 100e-6


def test_engine_is_usable_from_threads(engine, scope):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: engine.render(f"{{{{ input.n + {n % 5} }}}}", scope), range(200)))
    assert results == [42 + n % 5 for n in range(200)]
