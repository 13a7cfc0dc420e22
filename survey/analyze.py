"""The analysis workup on the survey's own responses, read from the database in chunks."""

from __future__ import annotations

import os
from pathlib import Path

import click

from items import ScaleSpec, load_bank
from survey.dataset import ResponseFilter, iter_value_chunks

CHUNK_SIZE = 5000


def form_moments(form_id: str, *, chunk_size: int = CHUNK_SIZE):
    """Pairwise moments of a form's submitted responses and the form's scale specification.

    Rows are read ``chunk_size`` at a time, so memory does not grow with the responses.
    """
    from analysis.moments import PairwiseMoments

    form = load_bank().form(form_id)
    spec: ScaleSpec = form.scale_spec()
    item_ids = [item.id for item in form.items]
    low, high = spec.range
    moments = PairwiseMoments(
        items=item_ids,
        values=range(low, high + 1),
        groups={name: tuple(item.id for item in members) for name, members in spec.scales.items()},
    )
    for chunk in iter_value_chunks(ResponseFilter(form=form_id), item_ids, chunk_size=chunk_size):
        moments.update(chunk)
    return moments, spec


def check_output_path(path: str, option: str) -> None:
    """Refuse an output file that cannot be written, before any work is done."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise click.UsageError(f"{option} {path}: the folder {folder} does not exist")
    if target.is_dir():
        raise click.UsageError(f"{option} {path}: is a folder, not a file")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise click.UsageError(f"{option} {path}: not writable")
