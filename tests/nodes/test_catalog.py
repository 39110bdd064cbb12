"""The built-in node types as the registry, the docs and the form builder see them."""

from __future__ import annotations

import pytest

from shared.nodes import FAMILY_MODULES, build_registry, default_registry

EXPECTED = {
    # name: (cost, lane, branches, side_effects)
    "http.request": (1, "light", (), True),
    "logic.condition": (0, "light", ("true", "false"), False),
    "data.transform": (0, "light", (), False),
    "data.map": (0, "light", (), False),
    "text.combine": (0, "light", (), False),
    "flow.delay": (0, "light", (), False),
    "ai.chat": (1, "light", (), False),
    "email.send": (2, "light", (), True),
    "sms.send": (5, "light", (), True),
    "slack.post": (1, "light", (), True),
    "browser.goto": (2, "browser", (), False),
    "browser.click": (1, "browser", (), True),
    "browser.fill": (1, "browser", (), True),
    "browser.wait_for": (1, "browser", (), False),
    "browser.extract": (1, "browser", (), False),
    "browser.screenshot": (2, "browser", (), False),
    "browser.evaluate": (1, "browser", (), True),
    "hubspot.upsert_contact": (1, "light", (), True),
    "notion.create_page": (1, "light", (), True),
    "notion.query_database": (1, "light", (), False),
    "odoo.search_read": (1, "light", (), False),
    "odoo.create": (1, "light", (), True),
    "n8n.trigger": (1, "light", (), True),
    "brightdata.fetch": (2, "light", (), False),
    "postgres.query": (1, "light", (), True),
}


def test_registry_holds_every_built_in_type() -> None:
    registry = build_registry()

    assert set(registry.names()) == set(EXPECTED)
    for name, (cost, lane, branches, side_effects) in EXPECTED.items():
        node_type = registry.get(name)
        assert (node_type.cost, node_type.lane, node_type.branches, node_type.side_effects) == (
            cost,
            lane,
            branches,
            side_effects,
        )


def test_default_registry_is_built_once() -> None:
    assert default_registry() is default_registry()


def test_family_modules_are_importable_paths() -> None:
    assert all(module.startswith("shared.nodes.") for module in FAMILY_MODULES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_type_is_documented_for_forms(name: str) -> None:
    described = default_registry().get(name).describe()
    schema = described["config_schema"]

    assert len(described["description"]) > 40
    assert schema["additionalProperties"] is False
    for field_name, field_schema in schema["properties"].items():
        assert field_schema.get("description"), f"{name}.{field_name} has no description"
        assert field_schema.get("examples"), f"{name}.{field_name} has no examples"


def test_the_lazy_default_registry_holds_what_a_full_build_holds() -> None:
    from shared.nodes import LazyNodeRegistry

    lazy = LazyNodeRegistry()

    assert lazy.get("data.map") is build_registry().get("data.map")
    assert "browser.goto" in lazy
    assert "nosuch.type" not in lazy
    assert lazy.names() == build_registry().names()


def test_a_worker_running_light_nodes_imports_no_other_family() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from shared.nodes import default_registry\n"
        "registry = default_registry()\n"
        "registry.get('data.map'); registry.get('logic.condition')\n"
        "print(sorted(m for m in sys.modules if m.startswith('shared.nodes.') and m != 'shared.nodes.registry'))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert "shared.nodes.data" in loaded and "shared.nodes.logic" in loaded
    assert not any(f"shared.nodes.{family}'" in loaded for family in ("browser", "ai", "postgres", "http"))
