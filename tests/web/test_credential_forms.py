"""The web app's credential forms list every credential type the vault accepts, with its fields."""

from __future__ import annotations

import re
from pathlib import Path

from shared.vault.types import CREDENTIAL_TYPES

PAGE = Path(__file__).resolve().parents[2] / "web" / "src" / "pages" / "CredentialsPage.tsx"


def form_fields() -> dict[str, list[str]]:
    block = re.search(r"const TYPES: Record<string, ValueField\[\]> = \{(.*?)\n\};", PAGE.read_text(), re.S)
    assert block, "the TYPES table moved: update this test"
    types = re.findall(r"^  (\w+): \[(.*?)\],?$", block.group(1), re.S | re.M)
    return {name: re.findall(r'name: "(\w+)"', fields) for name, fields in types}


def test_every_credential_type_has_a_form_with_its_fields():
    forms = form_fields()

    assert set(forms) == set(CREDENTIAL_TYPES)
    for name, model in CREDENTIAL_TYPES.items():
        assert forms[name] == list(model.model_fields), name
