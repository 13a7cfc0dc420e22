"""The analysis workup on the survey's own responses, read from the database in chunks."""

from __future__ import annotations

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


# What ``analyze --from-db --group`` can compare: a property of each response.
GROUPINGS = ("language", "clinic", "wave")


def form_responses_by_group(form_id: str, group: str | None, *, chunk_size: int = CHUNK_SIZE):
    """A form's submitted responses as rows (items as columns, NaN for codes and blanks), with
    the column ``group`` (the response's language, clinic name or wave number) unless
    ``group`` is None, and the form's scale specification.

    The WLSMV CFA and the invariance models need the rows, not pairwise moments: the frame
    holds every response (8 bytes per item and response, e.g. 300 MB for 1,000,000 responses
    of 38 items).
    """
    import numpy as np
    import pandas as pd

    from survey.dataset import response_labels

    if group is not None and group not in GROUPINGS:
        raise ValueError(f"--from-db can group by {', '.join(GROUPINGS)}; got {group!r}")
    form = load_bank().form(form_id)
    spec: ScaleSpec = form.scale_spec()
    item_ids = [item.id for item in form.items]
    selection = ResponseFilter(form=form_id)
    chunks = list(iter_value_chunks(selection, item_ids, chunk_size=chunk_size))
    values = np.vstack(chunks) if chunks else np.empty((0, len(item_ids)))
    frame = pd.DataFrame(values, columns=item_ids)
    if group is not None:
        labels = response_labels(selection, group)
        frame[group] = [None if label is None else str(label) for label in labels]
    return frame, spec
