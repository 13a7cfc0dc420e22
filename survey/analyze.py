"""The analysis workup on the survey's own responses, read from the database in chunks.

Everything the workup needs is accumulated chunk by chunk (pairwise moments, and with
``--ordinal`` the pair contingency tables), so memory does not grow with the responses. Beside
the answers, each response's dyad and clinician are counted, because patients nested in
clinicians are not independent respondents: :class:`SampleStructure` says how many responses
per dyad and per clinician went in, and the ICC(1) of each scale within clinicians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from items import ScaleSpec, load_bank
from survey.dataset import ResponseFilter, iter_value_chunks, iter_value_chunks_with_sources

CHUNK_SIZE = 5000
# Clustering below this ICC(1) is negligible for the workup (a design effect under 1.5 with
# ten patients per clinician); at or above it, the note warns.
ICC_WARNING = 0.05


class SelectionError(ValueError):
    """A --from-db selection that names no clinic, language or responses we have."""


@dataclass(frozen=True)
class DatabaseSelection:
    """Which submitted responses ``analyze --from-db`` reads; ``None`` means any."""

    form: str
    wave: int | None = None
    clinic: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive: responses submitted on that day count
    language: str | None = None
    first_wave: bool = False

    def __post_init__(self) -> None:
        if self.wave is not None and self.first_wave:
            raise SelectionError("--wave and --first-wave both choose the wave; give one of them")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SelectionError(f"--date-from {self.date_from} is after --date-to {self.date_to}")
        if self.first_wave and self.form == "clinician-self":
            raise SelectionError(
                "--first-wave picks one response per dyad; clinician-self responses have no dyad"
            )

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the form narrows the selection."""
        return self != DatabaseSelection(form=self.form)

    def describe(self) -> str:
        parts = [f"form {self.form}"]
        if self.wave is not None:
            parts.append(f"wave {self.wave}")
        if self.first_wave:
            parts.append("first wave of each dyad")
        if self.clinic is not None:
            parts.append(f"clinic {self.clinic!r}")
        if self.language is not None:
            parts.append(f"language {self.language!r}")
        if self.date_from or self.date_to:
            parts.append(f"submitted {self.date_from or '...'} to {self.date_to or '...'}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SampleStructure:
    """How the selected responses nest in dyads and clinicians, and how much that matters.

    ``icc1`` maps each scale to the ICC(1) of its keyed scale mean within clinicians (None
    where it cannot be computed: one clinician, or one response per clinician).
    """

    responses: int
    dyads: int
    clinicians: int
    per_dyad: tuple[int, float, int]  # min, mean, max responses per dyad
    per_clinician: tuple[int, float, int]
    icc1: dict[str, float | None] = field(default_factory=dict)
    design_effect: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        def spread(values):
            low, mean, high = values
            return {"min": low, "mean": mean, "max": high}

        return {
            "responses": self.responses,
            "dyads": self.dyads,
            "clinicians": self.clinicians,
            "responses_per_dyad": spread(self.per_dyad) if self.dyads else None,
            "responses_per_clinician": spread(self.per_clinician),
            "icc1_within_clinicians": self.icc1,
            "design_effect": self.design_effect,
            "icc1_warning_at": ICC_WARNING,
        }

    def notes(self) -> list[str]:
        lines = []
        if self.dyads:
            low, mean, high = self.per_dyad
            lines.append(
                f"{self.responses} responses from {self.dyads} dyads ({low} to {high} per dyad, "
                f"mean {mean:.2f})"
                + (
                    "; waves of one dyad are repeated measures, not independent respondents "
                    "(--first-wave keeps one response per dyad)"
                    if high > 1
                    else ""
                )
            )
        low, mean, high = self.per_clinician
        lines.append(
            f"{self.clinicians} clinicians: {low} to {high} responses each (mean {mean:.1f})"
        )
        clustered = {
            scale: value
            for scale, value in self.icc1.items()
            if value is not None and value >= ICC_WARNING
        }
        if clustered:
            listed = ", ".join(
                f"{scale} {value:.3f} (design effect {self.design_effect[scale]:.2f})"
                for scale, value in clustered.items()
            )
            lines.append(
                f"patients nested in clinicians are not independent: ICC(1) within clinicians "
                f"is at least {ICC_WARNING} for {listed}; standard errors and tests that assume "
                "independent respondents are too optimistic"
            )
        elif any(value is not None for value in self.icc1.values()):
            top = max(v for v in self.icc1.values() if v is not None)
            lines.append(
                f"ICC(1) within clinicians is below {ICC_WARNING} for every scale (largest "
                f"{top:.3f}): clustering by clinician is negligible"
            )
        return lines


@dataclass
class _Structure:
    """Running tallies for :class:`SampleStructure`: keyed scale means per response."""

    spec: ScaleSpec
    item_ids: list[str]
    clinicians: list = field(default_factory=list)
    dyads: list = field(default_factory=list)
    scores: list = field(default_factory=list)

    def update(self, chunk) -> None:
        import numpy as np

        self.clinicians.append(chunk.clinician_ids)
        self.dyads.append(chunk.dyad_ids)
        low, high = self.spec.range
        column = {item: j for j, item in enumerate(self.item_ids)}
        means = []
        for members in self.spec.scales.values():
            values = chunk.values[:, [column[item.id] for item in members]]
            reverse = np.array([item.reverse_keyed for item in members])
            values = np.where(reverse, low + high - values, values)
            answered = (~np.isnan(values)).sum(axis=1)
            total = np.where(np.isnan(values), 0.0, values).sum(axis=1)
            means.append(np.where(answered > 0, total / np.maximum(answered, 1), np.nan))
        self.scores.append(np.column_stack(means).astype(np.float32))

    def result(self) -> SampleStructure:
        import numpy as np

        clinicians = np.concatenate(self.clinicians)
        dyads = np.concatenate(self.dyads)
        dyads = dyads[dyads >= 0]
        scores = np.vstack(self.scores)
        _, per_dyad = np.unique(dyads, return_counts=True)
        _, per_clinician = np.unique(clinicians, return_counts=True)
        icc1, effect = {}, {}
        for j, scale in enumerate(self.spec.scales):
            icc1[scale], effect[scale] = _clinician_icc(scores[:, j], clinicians)
        return SampleStructure(
            responses=len(clinicians),
            dyads=len(per_dyad),
            clinicians=len(per_clinician),
            per_dyad=_spread(per_dyad),
            per_clinician=_spread(per_clinician),
            icc1=icc1,
            design_effect=effect,
        )


def _spread(counts) -> tuple[int, float, int]:
    if not len(counts):
        return (0, 0.0, 0)
    return (int(counts.min()), float(counts.mean()), int(counts.max()))


def _clinician_icc(scores, clinicians) -> tuple[float | None, float | None]:
    """ICC(1) of one scale's scores within clinicians and the design effect 1 + (n0 - 1) ICC."""
    import numpy as np

    from analysis.agreement import clinician_reliability

    scored = ~np.isnan(scores)
    groups = clinicians[scored]
    if len(np.unique(groups)) < 2 or len(np.unique(groups)) == len(groups):
        return None, None
    with np.errstate(divide="ignore", invalid="ignore"):
        result = clinician_reliability(scores[scored].astype(float), groups)
    if not np.isfinite(result.icc1):
        return None, None
    return result.icc1, 1 + (result.n0 - 1) * result.icc1


@dataclass(frozen=True)
class FormData:
    """What the workup needs of a form's selected responses."""

    moments: object
    tables: object | None
    spec: ScaleSpec
    structure: SampleStructure | None


def form_moments(form_id: str, *, chunk_size: int = CHUNK_SIZE):
    """Pairwise moments of a form's submitted responses and the form's scale specification."""
    data = read_form_data(DatabaseSelection(form=form_id), chunk_size=chunk_size)
    return data.moments, data.spec


def read_form_data(
    selection: DatabaseSelection, *, ordinal: bool = False, chunk_size: int = CHUNK_SIZE
) -> FormData:
    """Pairwise moments (and, when ``ordinal``, pair tables) of the selected responses.

    Rows are read ``chunk_size`` at a time, so memory does not grow with the responses
    (beyond one scale mean per response and scale, kept for the ICC within clinicians).

    Raises
    ------
    SelectionError
        The clinic or language matches nothing; the message names the ones there are.
    """
    from analysis.moments import PairwiseMoments
    from analysis.pair_tables import PairTables

    form = load_bank().form(selection.form)
    spec: ScaleSpec = form.scale_spec()
    item_ids = [item.id for item in form.items]
    low, high = spec.range
    moments = PairwiseMoments(
        items=item_ids,
        values=range(low, high + 1),
        groups={name: tuple(item.id for item in members) for name, members in spec.scales.items()},
    )
    tables = PairTables(items=item_ids, values=range(low, high + 1)) if ordinal else None
    structure = _Structure(spec=spec, item_ids=item_ids)
    chunks = iter_value_chunks_with_sources(
        _response_filter(selection), item_ids, chunk_size=chunk_size
    )
    for chunk in chunks:
        moments.update(chunk.values)
        if tables is not None:
            tables.update(chunk.values)
        structure.update(chunk)
    if moments.n_rows == 0 and selection.language is not None:
        _check_language(selection)
    return FormData(
        moments=moments,
        tables=tables,
        spec=spec,
        structure=structure.result() if moments.n_rows else None,
    )


def _response_filter(selection: DatabaseSelection) -> ResponseFilter:
    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=UTC)

    return ResponseFilter(
        form=selection.form,
        clinic_id=None if selection.clinic is None else _clinic_id(selection.clinic),
        wave=selection.wave,
        submitted_from=start_of(selection.date_from) if selection.date_from else None,
        submitted_until=(
            start_of(selection.date_to + timedelta(days=1)) if selection.date_to else None
        ),
        language=selection.language,
        first_wave=selection.first_wave,
    )


def _clinic_id(name: str) -> int:
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import Clinic

    found = db.session.scalar(select(Clinic.id).where(Clinic.name == name))
    if found is not None:
        return found
    names = db.session.scalars(select(Clinic.name).order_by(Clinic.name)).all()
    known = ", ".join(repr(n) for n in names) if names else "none yet"
    raise SelectionError(f"no clinic named {name!r}; clinics: {known}")


def _check_language(selection: DatabaseSelection) -> None:
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import Response

    languages = db.session.scalars(
        select(Response.language)
        .where(Response.form == selection.form, Response.submitted_at.is_not(None))
        .distinct()
        .order_by(Response.language)
    ).all()
    if selection.language not in languages:
        known = ", ".join(languages) if languages else "none yet"
        raise SelectionError(
            f"no {selection.form} responses in language {selection.language!r}; "
            f"languages with responses: {known}"
        )


# What ``analyze --from-db --group`` can compare: a property of each response.
GROUPINGS = ("language", "clinic", "wave")


def form_responses_by_group(
    selection: DatabaseSelection, group: str | None, *, chunk_size: int = CHUNK_SIZE
):
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
    form = load_bank().form(selection.form)
    spec: ScaleSpec = form.scale_spec()
    item_ids = [item.id for item in form.items]
    chosen = _response_filter(selection)
    chunks = list(iter_value_chunks(chosen, item_ids, chunk_size=chunk_size))
    values = np.vstack(chunks) if chunks else np.empty((0, len(item_ids)))
    frame = pd.DataFrame(values, columns=item_ids)
    if group is not None:
        labels = response_labels(chosen, group)
        frame[group] = [None if label is None else str(label) for label in labels]
    return frame, spec
