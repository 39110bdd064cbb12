"""What a parsed template is: which tags it uses, which nodes it reads, whether it is one expression or a path."""

from __future__ import annotations

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

_UNSUPPORTED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Block: "block",
}


def check_supported(ast: nodes.Node) -> None:
    """Refuse tags that load other templates, and `self`: a workflow template stands alone."""
    for node in ast.find_all(tuple(_UNSUPPORTED_TAGS)):
        tag = _UNSUPPORTED_TAGS[type(node)]
        raise TemplateSyntaxError(f"{{% {tag} %}} is not supported in workflow templates", node.lineno)
    for name in ast.find_all(nodes.Name):
        if name.name == "self" and name.ctx == "load":
            raise TemplateSyntaxError("'self' is not available in workflow templates", name.lineno)


def node_references(ast: nodes.Node) -> frozenset[str]:
    """Node ids read as `nodes.<id>` or `nodes['<id>']`."""
    found = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "nodes"):
            continue
        if isinstance(node, nodes.Getattr):
            found.add(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.add(node.arg.value)
    return frozenset(found)


def single_expression(ast: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is exactly one `{{ expr }}` (whitespace around it aside)."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = [n for n in ast.body[0].nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


def is_path(expression: nodes.Node) -> bool:
    """A plain `a.b['c']` lookup: its result is scope data, returned without conversion."""
    while isinstance(expression, (nodes.Getattr, nodes.Getitem)):
        if isinstance(expression, nodes.Getitem) and not isinstance(expression.arg, nodes.Const):
            return False
        expression = expression.node
    return isinstance(expression, nodes.Name)
