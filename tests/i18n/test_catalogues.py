"""The gettext catalogues (idp/translations, docs/pages.md): every marked msgid is in both
catalogues, English translates every one, and the committed .mo files are the .po files
compiled (a stale .mo would show old words)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template_string

from idp.cardholders.service import PinCheck
from idp.interaction.i18n import TEXT
from idp.interaction.i18n import TRANSLATIONS
from idp.interaction.i18n import TRIES_LEFT
from idp.interaction.i18n import text
from idp.interaction.i18n import wrong_pin_message
from idp.my_authorizations.i18n import MY_TEXT
from idp.scan_signin.text import SCAN_TEXT

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("en", "zh_CN")


def catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in catalog if m.id}


def marked(pot: Path) -> set[str | tuple[str, ...]]:
    """What pybabel extract finds in the sources now (babel.cfg, the Makefile's keywords)."""
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract", "-F", "babel.cfg",
         "-k", "N_", "-k", "Np_:1,2", "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return ids(read_po(f))


def test_both_catalogues_hold_every_marked_msgid_and_no_other(tmp_path: Path) -> None:
    wanted = marked(tmp_path / "messages.pot")
    assert set(TEXT.values()) | set(MY_TEXT.values()) | set(SCAN_TEXT.values()) <= wanted
    assert TRIES_LEFT in wanted
    for locale in LOCALES:
        assert ids(catalogue(locale)) == wanted, locale


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_has_a_translation_that_is_not_fuzzy(locale: str) -> None:
    for message in catalogue(locale):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert strings and all(s.strip() for s in strings), message.id
        assert not message.fuzzy, message.id
        if message.python_format:
            assert message.check() == [], message.id  # the same %(name)s placeholders


@pytest.mark.parametrize("locale", LOCALES)
def test_the_committed_mo_is_the_po_compiled(locale: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(locale))
    mo = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo.read_bytes() == compiled.getvalue(), "run make messages"


def test_english_counts_tries_with_ngettext_and_chinese_has_one_form() -> None:
    assert wrong_pin_message("en", PinCheck(ok=False, locked=False, tries_left=4)) == (
        "The card number, ID number or PIN is not right. You can try 4 more times before the"
        " PIN is locked."
    )
    assert "还可以再试 3 次" in wrong_pin_message("zh-CN", PinCheck(False, False, 3))
    en = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
    assert en.is_file()


def test_an_unknown_locale_gets_chinese() -> None:
    assert text("fr") == text("zh-CN")
    assert text("en")["title"] == "e-SSC sign-in"


def test_flask_babel_follows_ui_locales_and_the_page_locale(app: Any) -> None:
    """Templates' ``_()`` and the ``t`` dict agree: the request's ui_locales, else what the
    page chose with ``text(locale)``, else zh-CN."""
    page = "{{ _('登录') }}|{{ ngettext(tries[0], tries[1], 2) }}"
    for query, chosen, want in (
        ("ui_locales=en", None, "Sign in|"),
        ("ui_locales=fr", None, "登录|"),
        ("", None, "登录|"),
        ("", "en", "Sign in|"),
    ):
        with app.test_request_context(f"/authorize?{query}"):
            if chosen:
                text(chosen)
            rendered = render_template_string(page, tries=TRIES_LEFT)
        assert rendered.startswith(want), (query, rendered)
        assert ("2 more times" in rendered) == want.startswith("Sign in"), rendered
