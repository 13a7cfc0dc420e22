"""Which libraries a piece of code imports, run in a fresh interpreter (a test's own process has
imported everything already)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def libraries_imported(code: str, watched: tuple[str, ...] = ("pandas",)) -> list[str]:
    """Run ``code`` in a new interpreter from the repository root and return the ``watched``
    modules it imported; the code must run without an error (its stderr is the message)."""
    probe = f"{code}\nimport sys\nprint([m for m in {watched!r} if m in sys.modules])\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])
