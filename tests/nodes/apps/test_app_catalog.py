"""The app node types as the registry, the docs and the form builder see them, and their credentials."""

from __future__ import annotations

import pytest

from shared.nodes import default_registry
from shared.vault.types import CREDENTIAL_TYPES, CredentialInvalid, validate_values

APP_TYPES = {
    # name: (cost, side_effects, credential type or None when the node takes the generic HTTP ones)
    "hubspot.upsert_contact": (1, True, "hubspot"),
    "notion.create_page": (1, True, "notion"),
    "notion.query_database": (1, False, "notion"),
    "odoo.search_read": (1, False, "odoo"),
    "odoo.create": (1, True, "odoo"),
    "n8n.trigger": (1, True, None),
    "brightdata.fetch": (2, False, "brightdata"),
    "postgres.query": (1, True, "postgres"),
}


@pytest.mark.parametrize("name", sorted(APP_TYPES))
def test_app_type_is_registered_light_with_its_cost(name: str) -> None:
    node_type = default_registry().get(name)
    cost, side_effects, _credential = APP_TYPES[name]

    assert (node_type.cost, node_type.lane, node_type.side_effects) == (cost, "light", side_effects)


@pytest.mark.parametrize("name", sorted(APP_TYPES))
def test_app_type_is_documented_for_forms(name: str) -> None:
    described = default_registry().get(name).describe()
    schema = described["config_schema"]

    assert len(described["description"]) > 100
    assert schema["additionalProperties"] is False
    assert "credential" in schema["properties"]
    for field_name, field_schema in schema["properties"].items():
        assert field_schema.get("description"), f"{name}.{field_name} has no description"
        assert field_schema.get("examples"), f"{name}.{field_name} has no examples"


@pytest.mark.parametrize(
    ("type_", "values", "expected"),
    [
        ("hubspot", {"token": "pat-1"}, {"token": "pat-1", "base_url": "https://api.hubapi.com"}),
        ("notion", {"token": "ntn_1"}, {"token": "ntn_1", "base_url": "https://api.notion.com"}),
        ("brightdata", {"token": "k"}, {"token": "k", "base_url": "https://api.brightdata.com"}),
        (
            "odoo",
            {"url": "https://acme.odoo.com/", "database": "acme", "username": "ann", "password": "key"},
            {"url": "https://acme.odoo.com", "database": "acme", "username": "ann", "password": "key"},
        ),
    ],
)
def test_app_credentials_fill_in_their_defaults(type_: str, values: dict, expected: dict) -> None:
    assert type_ in CREDENTIAL_TYPES
    assert validate_values(type_, values) == expected


@pytest.mark.parametrize(
    ("type_", "values", "field"),
    [
        ("hubspot", {}, "values.token"),
        ("notion", {"token": "t", "base_url": "ftp://x"}, "values.base_url"),
        ("odoo", {"url": "https://o.example", "database": "d", "username": "u"}, "values.password"),
        ("brightdata", {"token": "t", "zone": "z"}, "values.zone"),
    ],
)
def test_app_credentials_name_the_bad_field(type_: str, values: dict, field: str) -> None:
    with pytest.raises(CredentialInvalid) as invalid:
        validate_values(type_, values)

    assert field in [where for where, _message in invalid.value.problems]
