"""Browser step configs: what is refused before any browser starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.nodes.browser_config import ExtractConfig, GotoConfig


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "chrome://settings", "data:text/html,<b>x</b>", "javascript:alert(1)", "/relative"]
)
def test_goto_refuses_anything_but_http_and_https(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GotoConfig(url=url)

    [error] = caught.value.errors()
    assert error["loc"] == ("url",)
    assert "must be an http:// or https:// URL" in error["msg"]


def test_goto_accepts_an_https_url() -> None:
    assert GotoConfig(url="https://example.com/a?b=1").url == "https://example.com/a?b=1"


def test_extract_refuses_an_attribute_beside_fields() -> None:
    with pytest.raises(ValidationError, match="put it on each field"):
        ExtractConfig.model_validate({"selector": "tr", "attribute": "id", "fields": {"a": "td"}})


def test_extract_fields_accept_a_selector_or_a_spec() -> None:
    config = ExtractConfig.model_validate({"selector": "tr", "fields": {"a": "td", "b": {"attribute": "id"}}})

    assert config.field_specs() == {
        "a": {"selector": "td", "attribute": None},
        "b": {"selector": None, "attribute": "id"},
    }
