"""docs/settings.md is generated from the Settings model, names every setting, and stays current."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shared.cli import app
from shared.cli.settings_docs import render_markdown
from shared.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_settings_md_matches_the_settings():
    assert DOCS.read_text() == render_markdown(), (
        "docs/settings.md is stale: run `flowbuilder settings --markdown > docs/settings.md`"
    )


def test_every_setting_has_a_description_and_a_row():
    text = render_markdown()

    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"| `FLOWBUILDER_{name.upper()}` |" in text


def test_secret_defaults_are_not_printed():
    text = render_markdown()

    assert "flowbuilder-local-guest-salt" not in text
    assert "| `FLOWBUILDER_GUEST_IP_SALT` | a dev value |" in text


def test_the_cli_prints_the_page():
    result = CliRunner().invoke(app, ["settings", "--markdown"])

    assert result.exit_code == 0
    assert result.output == render_markdown()
