"""Every setting in idp/settings.py has its row in docs/configuration.md."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from idp.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"ESSC_{f.name.upper()}" for f in fields(Settings) if f"`ESSC_{f.name.upper()}`" not in text
    ]
    assert missing == []
