"""The docstring examples of the audit and operations modules run as doctests."""

from __future__ import annotations

import doctest

import pytest

import survey.audit.chain
import survey.audit.log
import survey.operations.backup
import survey.operations.retention


@pytest.mark.parametrize(
    "module",
    [survey.audit.chain, survey.audit.log, survey.operations.backup, survey.operations.retention],
)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
