"""Every analysis module's Examples sections run as doctests."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "analysis"
# responses_file reads files; the analyze CLI tests exercise it on real CSVs.
WITHOUT_EXAMPLES = {"responses_file"}
MODULES = sorted(
    f"analysis.{path.stem}"
    for path in PACKAGE.glob("*.py")
    if not path.stem.startswith("_") and path.stem not in WITHOUT_EXAMPLES
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0, f"{name} has no Examples section"
    assert result.failed == 0
