"""The items package stands alone: no web or database imports, and its doctests pass."""

from __future__ import annotations

import ast
import doctest
import shutil
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


CHECK = (
    "import sys, items\n"
    "items.load_bank().form('patient').scale_spec()\n"
    f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
)


def forbidden_imports(package_parent: Path) -> list[str]:
    """The forbidden modules loaded by importing ``items`` from ``package_parent``."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=package_parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return ast.literal_eval(result.stdout.strip())


def test_items_imports_nothing_of_the_app_or_the_analysis():
    assert forbidden_imports(REPO) == []


def test_the_check_sees_forbidden_imports(tmp_path):
    # Guards the test above: plant a forbidden import in a copy of the package, run the very
    # same check on the copy, and it must name what was imported.
    shutil.copytree(REPO / "items", tmp_path / "items")
    loader = tmp_path / "items" / "loader.py"
    loader.write_text(loader.read_text() + "\nimport werkzeug.urls  # planted\n")
    assert "werkzeug.urls" in forbidden_imports(tmp_path)
    assert "werkzeug" in forbidden_imports(tmp_path)


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
    assert result.attempted > 0  # a module without examples would pass this test unseen
