"""Clinic aggregates for the dashboards, downloads and the JSON API: scores per clinician and
construct with their reliability, the trend, the invitation funnel, and the patient-clinician
comparison, with every small cell suppressed.

Every statistic comes from ``analysis``; this module selects the data, calls it, and applies
:mod:`survey.suppression`. It knows nothing of requests or pages: the results are JSON-ready
dictionaries.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from items import load_bank
from survey.dataset import ResponseFilter, iter_response_chunks, value_matrix
from survey.extensions import db
from survey.models import Clinic, Clinician, Invitation, InvitationState, Response, Wave
from survey.suppression import SuppressedTable, suppress_table, too_small

DASHBOARD_FORMS = ("patient", "clinician-dyad")
PERIODS = ("month", "quarter")
RELIABILITY_TARGET = 0.70
# A clinician's view "stands out" as higher when it exceeds the patients' by at least a fifth of
# a scale point and the 95% CI of the difference lies wholly below zero: with hundreds of dyads
# a trivial difference is already significant.
CLINICIAN_HIGHER_BY = 0.2
_META = ("clinician_id", "dyad_id", "wave", "submitted_at")


class AggregateError(ValueError):
    """A request for aggregates that cannot be met; the message names the bad value."""


COMPLEMENTARY_REASON = "hidden so that a smaller group cannot be worked out"


def suppressed(min_cell: int, *, n: int | None = None) -> dict:
    """What a hidden cell looks like wherever it is shown.

    A cell of ``min_cell`` or more respondents is hidden only to protect another one
    (complementary suppression), and says so rather than claiming it was too small.
    """
    if n is not None and n >= min_cell:
        return {"suppressed": True, "reason": COMPLEMENTARY_REASON}
    return {"suppressed": True, "reason": f"fewer than {min_cell} responses"}


# --- selection ------------------------------------------------------------------------------


def month_window(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """Whole calendar months around the dates: from the first day of ``date_from``'s month to
    the end of ``date_to``'s month (UTC), so two date filters differ by whole months at least."""
    start = end = None
    if date_from is not None:
        start = datetime(date_from.year, date_from.month, 1, tzinfo=UTC)
    if date_to is not None:
        last = monthrange(date_to.year, date_to.month)[1]
        end = datetime(date_to.year, date_to.month, last, tzinfo=UTC) + timedelta(days=1)
    if start is not None and end is not None and start >= end:
        raise AggregateError(f"date range {date_from} to {date_to}: the start is after the end")
    return start, end


def _check_options(form: str, wave: int | None, min_cell: int, period: str) -> None:
    if form not in DASHBOARD_FORMS:
        raise AggregateError(f"form {form!r}: expected one of {', '.join(DASHBOARD_FORMS)}")
    if wave is not None and (isinstance(wave, bool) or not isinstance(wave, int) or wave < 1):
        raise AggregateError(f"wave {wave!r}: expected a whole number from 1")
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise AggregateError(f"min_cell {min_cell!r}: expected a whole number from 1")
    if period not in PERIODS:
        raise AggregateError(f"period {period!r}: expected one of {', '.join(PERIODS)}")


def _clinic(clinic_id: int) -> Clinic:
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise AggregateError(f"no clinic with id {clinic_id}")
    return clinic


def _clinicians(clinic_id: int) -> list[Clinician]:
    query = select(Clinician).where(Clinician.clinic_id == clinic_id).order_by(Clinician.id)
    return list(db.session.scalars(query))


def load_scores(selection: ResponseFilter):
    """One row per submitted response: clinician, dyad, wave, submission time and the scale
    score of every construct of the form (``analysis.scoring.scale_scores``)."""
    import pandas as pd

    from analysis.scoring import scale_scores

    spec = load_bank().form(selection.form).scale_spec()
    item_ids = list(spec.item_ids)
    meta, matrices = [], []
    for chunk in iter_response_chunks(selection):
        meta.extend((r.clinician_id, r.dyad_id, r.wave, r.submitted_at) for r in chunk)
        matrices.append(value_matrix(chunk, item_ids))
    frame = pd.DataFrame(meta, columns=list(_META))
    if not matrices:
        return frame.assign(**{construct: pd.Series(dtype=float) for construct in spec.scales})
    import numpy as np

    answers = pd.DataFrame(np.vstack(matrices), columns=item_ids)
    return pd.concat([frame, scale_scores(answers, spec)], axis=1)


def _period_labels(submitted, period: str):
    import pandas as pd

    stamps = pd.to_datetime(submitted, utc=True)
    if period == "month":
        return stamps.dt.strftime("%Y-%m")
    return stamps.dt.year.astype(str) + " Q" + stamps.dt.quarter.astype(str)


# --- the clinic summary ---------------------------------------------------------------------


def clinic_summary(
    clinic_id: int,
    *,
    form: str = "patient",
    wave: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_cell: int,
    show_names: bool = True,
    period: str = "quarter",
) -> dict:
    """Each clinician's score per construct beside the clinic's, the trend and the funnel.

    Parameters
    ----------
    clinic_id : int
    form : {"patient", "clinician-dyad"}
        Whose view of the relationships to summarise.
    wave : int, optional
        Only this wave of every dyad.
    date_from, date_to : date, optional
        Submission dates, widened to whole calendar months (see :func:`month_window`).
    min_cell : int
        Smallest number of responses any aggregate is shown for.
    show_names : bool
        Clinicians' names and ids; otherwise each is "Clinician 1", "Clinician 2", ... in a
        fixed order, with no id.
    period : {"quarter", "month"}
        Length of a trend period.

    Returns
    -------
    dict
        ``clinic``, ``filters``, ``min_cell``, ``constructs`` (id, name), ``periods``;
        ``overall[construct]`` and ``trend[i]["constructs"][construct]``: ``{n, mean, ci}``;
        ``reliability[construct]``: ``{icc1, responses_needed}`` (patients within clinicians);
        ``clinicians[i]``: ``{label, (id, name), constructs: {construct: {n, mean, ci,
        reliability, comparable, more_needed}}, trend}``; ``funnel``. Any of these cells may
        instead be ``{"suppressed": true, "reason": "fewer than 5 responses"}``.
    """
    _check_options(form, wave, min_cell, period)
    clinic = _clinic(clinic_id)
    start, end = month_window(date_from, date_to)
    selection = ResponseFilter(
        form=form, clinic_id=clinic.id, wave=wave, submitted_from=start, submitted_until=end
    )
    scores = load_scores(selection)
    scores["period"] = _period_labels(scores["submitted_at"], period)
    clinicians = _clinicians(clinic.id)
    clinician_ids = [c.id for c in clinicians]
    periods = sorted(scores["period"].dropna().unique().tolist())
    bank = load_bank()
    constructs = list(bank.form(form).scale_spec().scales)
    tables = {
        construct: _construct_table(scores, construct, clinician_ids, periods, min_cell)
        for construct in constructs
    }
    return {
        "clinic": {"id": clinic.id, "name": clinic.name},
        "filters": _filters(form, wave, start, end, period),
        "min_cell": min_cell,
        "reliability_target": RELIABILITY_TARGET,
        "constructs": [{"id": c, "name": bank.constructs[c].name} for c in constructs],
        "periods": periods,
        "overall": {c: tables[c]["overall"] for c in constructs},
        "reliability": {c: tables[c]["reliability"] for c in constructs},
        "trend": [
            {"period": p, "constructs": {c: tables[c]["trend"][j] for c in constructs}}
            for j, p in enumerate(periods)
        ],
        "clinicians": [
            {
                **_who(clinician, i, show_names),
                "constructs": {c: tables[c]["clinicians"][i] for c in constructs},
                "trend": [
                    {"period": p, "constructs": {c: tables[c]["cells"][i][j] for c in constructs}}
                    for j, p in enumerate(periods)
                ],
            }
            for i, clinician in enumerate(clinicians)
        ],
        "funnel": invitation_funnel(
            clinic.id, form=form, wave=wave, start=start, end=end, min_cell=min_cell
        ),
    }


def _filters(form, wave, start, end, period) -> dict:
    return {
        "form": form,
        "wave": wave,
        "date_from": None if start is None else start.date().isoformat(),
        "date_to": None if end is None else (end - timedelta(days=1)).date().isoformat(),
        "period": period,
    }


def _who(clinician: Clinician, index: int, show_names: bool) -> dict:
    if show_names:
        return {"id": clinician.id, "name": clinician.name, "label": clinician.name}
    return {"label": f"Clinician {index + 1}"}


def _construct_table(scores, construct, clinician_ids, periods, min_cell) -> dict:
    """One construct: clinician x period counts, suppression, and every published cell."""
    import pandas as pd

    from analysis.summaries import describe, describe_by

    valid = scores[scores[construct].notna()]
    counts = (
        pd.crosstab(valid["clinician_id"], valid["period"])
        .reindex(index=clinician_ids, columns=periods, fill_value=0)
        .to_numpy(dtype=int)
        .reshape(len(clinician_ids), len(periods))
    )
    hidden = suppress_table(counts, min_cell=min_cell)
    values = valid[construct].to_numpy()
    by_clinician = describe_by(values, valid["clinician_id"].to_numpy())
    by_period = describe_by(values, valid["period"].to_numpy())
    by_cell = describe_by(
        values, (valid["clinician_id"].astype(str) + "|" + valid["period"]).to_numpy()
    )
    overall = describe(values)
    reliability = _reliability(valid, construct)
    return {
        "overall": _cell(overall.to_dict(), hidden.grand_total, min_cell),
        "reliability": _clinic_reliability(reliability, hidden.grand_total, min_cell),
        "trend": [
            _cell(_row(by_period, p), hidden.column_totals[j], min_cell)
            for j, p in enumerate(periods)
        ],
        "clinicians": [
            _clinician_cell(_row(by_clinician, c), reliability, hidden.row_totals[i], min_cell)
            for i, c in enumerate(clinician_ids)
        ],
        "cells": [
            [
                _cell(_row(by_cell, f"{c}|{p}"), hidden.cells[i, j], min_cell)
                for j, p in enumerate(periods)
            ]
            for i, c in enumerate(clinician_ids)
        ],
    }


def _row(table, key) -> dict:
    if key not in table.index:
        return {"n": 0}
    row = table.loc[key]
    return {"n": int(row["n"]), "mean": row["mean"], "lower": row["lower"], "upper": row["upper"]}


def _number(value) -> float | None:
    import math

    return None if value is None or math.isnan(value) else float(value)


def _cell(summary: dict, hidden, min_cell: int) -> dict:
    if hidden:
        return suppressed(min_cell, n=summary["n"])
    if summary["n"] == 0:
        return {"n": 0, "mean": None, "ci": None}
    ci = [_number(summary["lower"]), _number(summary["upper"])]
    return {
        "n": summary["n"],
        "mean": _number(summary["mean"]),
        "ci": None if None in ci else ci,
    }


def _reliability(valid, construct):
    """ICC(1) of respondents within clinicians, or None where it cannot be estimated."""
    from analysis.agreement import clinician_reliability

    try:
        return clinician_reliability(valid[construct], valid["clinician_id"])
    except ValueError:  # fewer than two clinicians, or no more responses than clinicians
        return None


def _responses_needed(icc1: float) -> int | None:
    from analysis.agreement import responses_needed

    if not 0 < icc1 < 1:
        return None if icc1 <= 0 else 1
    return responses_needed(icc1, RELIABILITY_TARGET)


def _clinic_reliability(reliability, hidden, min_cell: int) -> dict:
    if hidden:
        return suppressed(min_cell)
    if reliability is None:
        return {"icc1": None, "responses_needed": None}
    return {
        "icc1": _number(reliability.icc1),
        "responses_needed": _responses_needed(reliability.icc1),
    }


def _clinician_cell(summary: dict, reliability, hidden, min_cell: int) -> dict:
    cell = _cell(summary, hidden, min_cell)
    if cell.get("suppressed"):
        return cell
    cell |= {"reliability": None, "comparable": False, "more_needed": None}
    # With ICC(1) at or below zero clinicians do not measurably differ: no reliability exists.
    if reliability is None or cell["n"] == 0 or not reliability.icc1 > 0:
        return cell
    value = reliability.reliability_at(cell["n"])
    needed = _responses_needed(reliability.icc1)
    cell["reliability"] = _number(value)
    cell["comparable"] = bool(value >= RELIABILITY_TARGET)
    cell["more_needed"] = None if needed is None else max(0, needed - cell["n"])
    return cell


# --- the invitation funnel ------------------------------------------------------------------


def invitation_funnel(
    clinic_id: int,
    *,
    form: str,
    wave: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    min_cell: int,
) -> dict:
    """Invitations sent, opened, started and submitted, and the median minutes to complete.

    Counts under ``min_cell`` (but above zero) and a median over fewer than ``min_cell``
    submissions are suppressed.
    """
    from analysis.summaries import describe

    query = (
        select(
            func.count(Invitation.id),
            func.count(Invitation.opened_at),
            func.count(Invitation.id).filter(
                Invitation.state.in_([InvitationState.STARTED, InvitationState.SUBMITTED])
            ),
            func.count(Invitation.id).filter(Invitation.state == InvitationState.SUBMITTED),
        )
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(Clinician.clinic_id == clinic_id, Invitation.form == form)
    )
    durations = (
        select(Response.duration_seconds)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(
            Clinician.clinic_id == clinic_id,
            Invitation.form == form,
            Response.submitted_at.is_not(None),
        )
    )
    if wave is not None:
        query = query.join(Wave, Invitation.wave_id == Wave.id).where(Wave.number == wave)
        durations = durations.join(Wave, Invitation.wave_id == Wave.id).where(Wave.number == wave)
    if start is not None:
        query = query.where(Invitation.created_at >= start)
        durations = durations.where(Invitation.created_at >= start)
    if end is not None:
        query = query.where(Invitation.created_at < end)
        durations = durations.where(Invitation.created_at < end)
    sent, opened, started, submitted = db.session.execute(query).one()
    seconds = [s for s in db.session.scalars(durations) if s is not None]
    funnel = {}
    for stage, count in zip(
        ("sent", "opened", "started", "submitted"), (sent, opened, started, submitted), strict=True
    ):
        funnel[stage] = suppressed(min_cell) if too_small(count, min_cell=min_cell) else count
    if len(seconds) < min_cell:
        funnel["median_minutes"] = suppressed(min_cell) if seconds else None
    else:
        funnel["median_minutes"] = describe(seconds).median / 60
    return funnel


# --- patient and clinician side by side -----------------------------------------------------


def comparison_summary(
    clinic_id: int,
    *,
    wave: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_cell: int,
    show_names: bool = True,
) -> dict:
    """Patient and clinician views of the same dyad waves, per construct, clinic and clinician.

    For each construct: the patient mean and the clinician mean over the dyad waves both
    answered, the mean difference (patient - clinician) with its 95% CI and Bland-Altman limits
    of agreement, and the ICC (absolute agreement), from ``analysis.agreement.dyad_agreement``
    and ``analysis.summaries.paired_difference``. ``clinician_higher`` marks a construct the
    clinicians rate at least ``CLINICIAN_HIGHER_BY`` higher, with the difference's CI wholly
    below zero.

    A comparison cell is also hidden when it differs from the matching dashboard cell (all
    responses of that form) by fewer than ``min_cell`` responses, which subtracting the two
    would otherwise reveal.
    """
    _check_options("patient", wave, min_cell, "quarter")
    clinic = _clinic(clinic_id)
    start, end = month_window(date_from, date_to)
    frames = {
        form: load_scores(
            ResponseFilter(
                form=form, clinic_id=clinic.id, wave=wave, submitted_from=start, submitted_until=end
            )
        )
        for form in DASHBOARD_FORMS
    }
    bank = load_bank()
    constructs = list(bank.form("patient").scale_spec().scales)
    clinicians = _clinicians(clinic.id)
    pairs = _pairs(frames["patient"], frames["clinician-dyad"], constructs)
    overall, per_clinician = {}, [{} for _ in clinicians]
    for construct in constructs:
        hidden = _comparison_hidden(pairs, frames, construct, clinicians, min_cell)
        both = pairs[
            pairs[f"{construct}_patient"].notna() & pairs[f"{construct}_clinician"].notna()
        ]
        overall[construct] = _comparison_cell(both, construct, hidden.grand_total, min_cell)
        for i, clinician in enumerate(clinicians):
            mine = both[both["clinician_id"] == clinician.id]
            per_clinician[i][construct] = _comparison_cell(
                mine, construct, hidden.row_totals[i], min_cell
            )
    return {
        "clinic": {"id": clinic.id, "name": clinic.name},
        "filters": _filters("patient", wave, start, end, "quarter"),
        "min_cell": min_cell,
        "constructs": [{"id": c, "name": bank.constructs[c].name} for c in constructs],
        "overall": overall,
        "clinicians": [
            {**_who(clinician, i, show_names), "constructs": per_clinician[i]}
            for i, clinician in enumerate(clinicians)
        ],
    }


def _pairs(patient, clinician, constructs):
    keys = ["dyad_id", "wave"]
    left = patient[["clinician_id", *keys, *constructs]]
    right = clinician[[*keys, *constructs]]
    return left.merge(right, on=keys, suffixes=("_patient", "_clinician"))


def _comparison_hidden(pairs, frames, construct, clinicians, min_cell) -> SuppressedTable:
    """Suppression of one construct's comparison cells (clinicians, clinic total)."""
    import numpy as np

    ids = [c.id for c in clinicians]
    both = pairs[pairs[f"{construct}_patient"].notna() & pairs[f"{construct}_clinician"].notna()]
    paired = both["clinician_id"].value_counts().reindex(ids, fill_value=0).to_numpy()
    near = np.zeros(len(ids), dtype=bool)
    near_total = False
    for frame in frames.values():
        answered = frame[frame[construct].notna()]
        everyone = answered["clinician_id"].value_counts().reindex(ids, fill_value=0).to_numpy()
        near |= too_small(everyone - paired, min_cell=min_cell)
        near_total |= bool(too_small(len(answered) - len(both), min_cell=min_cell))
    counts = paired.reshape(-1, 1)
    return suppress_table(
        counts,
        min_cell=min_cell,
        hidden_first=SuppressedTable(
            cells=near.reshape(-1, 1).copy(),
            row_totals=near.copy(),
            column_totals=np.array([near_total]),
            grand_total=near_total,
        ),
    )


def _comparison_cell(both, construct: str, hidden, min_cell: int) -> dict:
    import pandas as pd

    from analysis.agreement import dyad_agreement
    from analysis.summaries import paired_difference

    if hidden:
        return suppressed(min_cell, n=len(both))
    if both.empty:
        return {"n": 0}
    patient = pd.DataFrame({construct: both[f"{construct}_patient"].to_numpy()})
    clinician = pd.DataFrame({construct: both[f"{construct}_clinician"].to_numpy()})
    row = dyad_agreement(patient, clinician).to_dict()[construct]
    difference = paired_difference(patient[construct], clinician[construct])
    lower, upper = _number(difference.lower), _number(difference.upper)
    return {
        "n": row["n"],
        "patient_mean": row["patient_mean"],
        "clinician_mean": row["clinician_mean"],
        "mean_difference": row["mean_difference"],
        "difference_ci": None if lower is None else [lower, upper],
        "limits_of_agreement": [row["lower_limit"], row["upper_limit"]],
        "icc": row["icc"],
        "icc_ci": None if row["icc"] is None else [row["icc_lower"], row["icc_upper"]],
        "clinician_higher": (
            upper is not None and upper < 0 and row["mean_difference"] <= -CLINICIAN_HIGHER_BY
        ),
    }


# --- a clinician's own self-assessments -----------------------------------------------------


def self_assessments(clinician_id: int) -> dict:
    """A clinician's own self-assessment scores of the four competencies, oldest first.

    These are one person's answers, shown only to that person, so no cell size applies.
    """
    bank = load_bank()
    spec = bank.form("clinician-self").scale_spec()
    scores = load_scores(ResponseFilter(form="clinician-self", clinician_id=clinician_id))
    constructs = list(spec.scales)
    scores = scores.sort_values("submitted_at")
    return {
        "constructs": [{"id": c, "name": bank.constructs[c].name} for c in constructs],
        "assessments": [
            {
                "submitted": row["submitted_at"].date().isoformat(),
                "scores": {c: _number(row[c]) for c in constructs},
            }
            for row in scores.to_dict("records")
        ],
    }
