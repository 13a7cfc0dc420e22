"""The items package stands alone: no web or database imports, and its doctests pass."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import items
import items.loader
import items.model
import items.spec

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "survey", "analysis", "werkzeug", "jinja2", "textstat")


def test_items_imports_nothing_of_the_app_or_the_analysis():
    script = (
        "import sys, items\n"
        "items.load_bank().form('patient').scale_spec()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_check_sees_forbidden_imports():
    # Guards the test above: a module imported on purpose must show up in its listing.
    script = f"import sys, json\nprint([m for m in sys.modules if m in {('json',)!r}])\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "['json']"


def test_public_names():
    assert set(items.__all__) == {
        "FORM_IDS",
        "NOT_APPLICABLE",
        "SKIPPED",
        "BankError",
        "Construct",
        "Facet",
        "Form",
        "Item",
        "ItemBank",
        "ResponseOption",
        "ResponseScale",
        "ScaleItem",
        "ScaleSpec",
        "ScaleSpecError",
        "Section",
        "load_bank",
        "load_scale_spec",
    }
    assert all(hasattr(items, name) for name in items.__all__)


@pytest.mark.parametrize("module", [items, items.loader, items.model, items.spec])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if module is not items:
        assert result.attempted > 0
