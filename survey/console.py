"""The ``healing-survey`` console script.

``analyze DATA.csv`` reads a file and prints statistics, so it runs here alone, without the
Flask command group (importing Flask and its CLI took 0.1 s of CPU, a tenth of a 100,000-row
workup). Every other command, ``analyze --from-db`` and the group's own options go to
:data:`survey.cli.main`, whose ``--help`` lists them all.
"""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Entry point of the ``healing-survey`` script (``pyproject.toml``)."""
    args = sys.argv[1:]
    if _analyzes_a_file(args):
        # The analysis runs BLAS on one thread (analysis._blas says why); started with one,
        # OpenBLAS spawns no workers that spin on the other core between products (0.4 s of
        # CPU and 0.1 s of wall time of a 100,000-row ordinal workup, measured December 2026).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from survey.analysis_command import analyze

        analyze.main(args[1:], prog_name="healing-survey analyze")
        return
    from survey.cli import main

    main()


def _analyzes_a_file(args: list[str]) -> bool:
    """``analyze`` as the first word (no group option before it) and no ``--from-db``."""
    return bool(args) and args[0] == "analyze" and "--from-db" not in args
