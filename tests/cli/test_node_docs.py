"""docs/nodes.md is generated from the registry and kept current."""

from __future__ import annotations

from pathlib import Path

from shared.cli.node_docs import render_markdown
from shared.nodes import default_registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "nodes.md"


def test_nodes_md_matches_the_registry():
    assert DOCS.read_text() == render_markdown(default_registry()), (
        "docs/nodes.md is stale: run `flowbuilder node-types --markdown > docs/nodes.md`"
    )


def test_every_node_type_has_a_section_and_a_description():
    text = render_markdown(default_registry())

    for node_type in default_registry():
        assert f"## `{node_type.name}`" in text
        assert node_type.description, f"{node_type.name} has no description"
