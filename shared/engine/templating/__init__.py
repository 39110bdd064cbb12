"""The template sandbox: `{{ }}` templates and bare expressions over workflow data.

Templates read `input`, `nodes.<id>.output`, `execution`, and `item`/`index` inside a for_each.
A string that is exactly one `{{ expr }}` keeps the expression's type; anything else renders to
text. Missing values never crash a template: they are None as a single expression and "" in text.

Rendering runs in Jinja's immutable sandbox, narrowed so that a template reaches only JSON-like
data and a few data methods, and bounded by `TemplateLimits`: output size, render time, loop
iterations, and the size of strings, lists and dicts a template builds on the way. Each bound
is checked while it is being approached (before a big string is built, not after), so a
hostile template fails fast with a `TemplateError` instead of exhausting a worker.

Modules: `engine` (the public `TemplateEngine`), `compiler` and `references` (parsing, the
compile cache, what a template reads), `sandbox`, `codegen`, `filters` and `operations` (what a
template may do, and the bounds on it), `limits` (the bounds and one render's budget), `values`
(values as text and data) and `messages` (how failures are described).
"""

from shared.engine.templating.engine import TemplateEngine
from shared.engine.templating.limits import TemplateLimits

__all__ = ["TemplateEngine", "TemplateLimits"]
