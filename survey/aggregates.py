"""Clinic aggregates for the dashboards, downloads and the JSON API: scores per clinician and
construct with their reliability, the trend, the invitation funnel, and the patient-clinician
comparison.

Every number comes from whole release blocks (:mod:`survey.release`): the filters select blocks
(wave number, month of the block, the patient's language), and every cell is a union of blocks
of at least ``min_cell`` responses, so any two cells an account can see differ by 0 or at least
``min_cell`` responses.
Every statistic comes from ``analysis``; this module selects the blocks and calls it. It knows
nothing of requests or pages: the results are JSON-ready dictionaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import func, select

from items import load_bank
from survey.dataset import ResponseFilter, iter_response_chunks, value_matrix
from survey.extensions import db
from survey.models import Clinic, Clinician, Invitation, InvitationState, Wave
from survey.release import (
    BlockSelection,
    form_scores,
    held_back_responses,
    release_blocks,
    released_dyad_waves,
)

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


def suppressed(min_cell: int) -> dict:
    """What a hidden cell looks like wherever it is shown.

    Blocks hold at least ``min_cell`` responses, so a cell is only ever this small when the
    blocks were released under a smaller ``HEALING_SURVEY_MIN_CELL`` than today's.
    """
    # min_cell lets a page say the reason in its own language.
    return {"suppressed": True, "reason": f"fewer than {min_cell} responses", "min_cell": min_cell}


def round_down(count: int, min_cell: int) -> int:
    """``count`` rounded down to a multiple of ``min_cell``: two such counts differ by 0 or at
    least ``min_cell``, whatever happened between them.

    >>> round_down(14, 5), round_down(15, 5), round_down(4, 5)
    (10, 15, 0)
    """
    return count - count % min_cell


# --- selection ------------------------------------------------------------------------------


def month_range(date_from: date | None, date_to: date | None) -> tuple[str | None, str | None]:
    """The months (``YYYY-MM``) the dates fall in: blocks are selected by their month."""
    start = None if date_from is None else f"{date_from:%Y-%m}"
    end = None if date_to is None else f"{date_to:%Y-%m}"
    if start is not None and end is not None and start > end:
        raise AggregateError(f"date range {date_from} to {date_to}: the start is after the end")
    return start, end


def check_language(language: str | None) -> None:
    """``AggregateError`` unless ``language`` is None (all) or one of the item bank's."""
    known = load_bank().languages
    if language is not None and language not in known:
        raise AggregateError(f"language {language!r}: expected one of {', '.join(known)}")


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
    score of every construct of the form (``analysis.scoring.scale_scores``). For one
    clinician's own self-assessments only: everything shown to others goes through blocks."""
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


def period_label(month: str, period: str) -> str:
    """A block's trend period from its month: the month itself, or its quarter.

    >>> period_label("2026-05", "month"), period_label("2026-05", "quarter")
    ('2026-05', '2026 Q2')
    """
    if period == "month":
        return month
    year, number = month.split("-")
    return f"{year} Q{(int(number) - 1) // 3 + 1}"


def release_now(clinic_id: int, *, min_cell: int, withdrawal_days: int | None = None) -> None:
    """Release the clinic's complete blocks before computing anything from them."""
    if withdrawal_days is None:
        withdrawal_days = current_app.config.get("HEALING_SURVEY_WITHDRAWAL_DAYS", 0)
    release_blocks(clinic_id, min_cell=min_cell, withdrawal_days=withdrawal_days)


def released_scores(
    clinic_id: int,
    *,
    form: str,
    wave: int | None,
    months: tuple[str | None, str | None],
    min_cell: int,
    period: str = "quarter",
    language: str | None = None,
):
    """The released responses to ``form`` in the selected blocks, one row each, with a
    ``period`` column (see :func:`period_label`). Every cell of :func:`clinic_summary` is a
    group of these rows."""
    selection = _selection(clinic_id, wave, months, language)
    return _with_periods(
        form_scores(released_dyad_waves(selection, min_cell=min_cell), form), period
    )


def _selection(clinic_id: int, wave, months, language) -> BlockSelection:
    return BlockSelection(
        clinic_id, wave=wave, month_from=months[0], month_to=months[1], language=language
    )


def _with_periods(scores, period: str):
    return scores.assign(period=[period_label(m, period) for m in scores["period_month"]])


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
    withdrawal_days: int | None = None,
    language: str | None = None,
) -> dict:
    """Each clinician's score per construct beside the clinic's, the trend and the funnel,
    from whole release blocks (the clinic's complete blocks are released first).

    Parameters
    ----------
    clinic_id : int
    form : {"patient", "clinician-dyad"}
        Whose view of the relationships to summarise.
    wave : int, optional
        Only the blocks of this wave number.
    date_from, date_to : date, optional
        Only the blocks whose month (that of their newest submission) lies in these months.
    min_cell : int
        Smallest number of responses in a release block, and in any aggregate.
    show_names : bool
        Clinicians' names and ids; otherwise each is "Clinician 1", "Clinician 2", ... in a
        fixed order, with no id.
    period : {"quarter", "month"}
        Length of a trend period.
    withdrawal_days : int, optional
        Days after a submission before its dyad wave may be released; default
        ``HEALING_SURVEY_WITHDRAWAL_DAYS``.
    language : str, optional
        Only the blocks of dyad waves whose patient answered in this language (blocks are
        split by it). The funnel and response rates count invitations of every language.

    Returns
    -------
    dict
        ``clinic``, ``filters``, ``min_cell``, ``constructs`` (id, name), ``periods``;
        ``overall[construct]`` and ``trend[i]["constructs"][construct]``: ``{n, mean, ci}``;
        ``reliability[construct]``: ``{icc1, responses_needed}`` (patients within clinicians);
        ``clinicians[i]``: ``{label, (id, name), constructs: {construct: {n, mean, ci,
        reliability, comparable, more_needed}}, trend, held_back}``; ``funnel``;
        ``held_back``: responses submitted but not yet in a block, rounded down to a multiple
        of ``min_cell``.
    """
    _check_options(form, wave, min_cell, period)
    check_language(language)
    clinic = _clinic(clinic_id)
    months = month_range(date_from, date_to)
    release_now(clinic.id, min_cell=min_cell, withdrawal_days=withdrawal_days)
    scores = released_scores(
        clinic.id,
        form=form,
        wave=wave,
        months=months,
        min_cell=min_cell,
        period=period,
        language=language,
    )
    clinicians = _clinicians(clinic.id)
    clinician_ids = [c.id for c in clinicians]
    periods = sorted(scores["period"].unique().tolist())
    bank = load_bank()
    constructs = list(bank.form(form).scale_spec().scales)
    tables = {
        construct: _construct_table(scores, construct, clinician_ids, periods, min_cell)
        for construct in constructs
    }
    return {
        "clinic": {"id": clinic.id, "name": clinic.name},
        "filters": _filters(form, wave, months, period, language),
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
                "held_back": round_down(
                    held_back_responses(
                        clinic.id, form, clinician_id=clinician.id, language=language
                    ),
                    min_cell,
                ),
            }
            for i, clinician in enumerate(clinicians)
        ],
        "funnel": invitation_funnel(
            clinic.id, form=form, wave=wave, months=months, min_cell=min_cell, scores=scores
        ),
        "held_back": round_down(held_back_responses(clinic.id, form, language=language), min_cell),
        "response_rates": _response_rates(clinic.id, clinicians, wave, months, min_cell),
    }


def _response_rates(clinic_id: int, clinicians, wave, months, min_cell: int) -> dict:
    """The patient invitations' response rates, per clinician in page order and for the clinic."""
    from survey.delivery.rates import response_rates

    start, end = month_bounds(months)
    rates = response_rates(
        clinic_id,
        [clinician.id for clinician in clinicians],
        min_cell=min_cell,
        wave=wave,
        start=start,
        end=end,
    )
    return {
        "rounded_to": rates["rounded_to"],
        "clinic": rates["clinic"],
        "clinicians": [rates["clinicians"][clinician.id] for clinician in clinicians],
    }


def cell_members(
    clinic_id: int,
    *,
    wave: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_cell: int,
    period: str = "quarter",
    language: str | None = None,
) -> dict[tuple, frozenset[int]]:
    """The dyad waves behind every cell that :func:`clinic_summary` (both forms) and
    :func:`comparison_summary` show for one selection, without releasing anything:
    ``{(form or "comparison", clinician id or "clinic", period or "all", construct): wave
    ids}``. A dyad wave stands for its response to that form (for the comparison, both).

    It groups the very rows the summaries describe; the privacy tests use it to check that any
    two cells differ by whole blocks.
    """
    months = month_range(date_from, date_to)
    constructs = list(load_bank().form("patient").scale_spec().scales)
    frame = released_dyad_waves(_selection(clinic_id, wave, months, language), min_cell=min_cell)
    cells: dict[tuple, frozenset[int]] = {}
    for form in DASHBOARD_FORMS:
        scores = _with_periods(form_scores(frame, form), period)
        for construct in constructs:
            valid = scores[scores[construct].notna()]
            for who, mine in [("clinic", valid), *valid.groupby("clinician_id")]:
                cells[(form, who, "all", construct)] = frozenset(mine.index)
                for when, group in mine.groupby("period"):
                    cells[(form, who, when, construct)] = frozenset(group.index)
    pairs = frame[frame["kind"] == "pair"]
    for construct in constructs:
        both = pairs[pairs[f"patient:{construct}"].notna()]
        for who, mine in [("clinic", both), *both.groupby("clinician_id")]:
            cells[("comparison", who, "all", construct)] = frozenset(mine.index)
    return cells


def _filters(form, wave, months, period, language) -> dict:
    return {
        "form": form,
        "wave": wave,
        "date_from": None if months[0] is None else f"{months[0]}-01",
        "date_to": None if months[1] is None else _month_end(months[1]),
        "period": period,
        "language": language,
    }


def _month_end(month: str) -> str:
    from calendar import monthrange

    year, number = (int(part) for part in month.split("-"))
    return f"{month}-{monthrange(year, number)[1]:02d}"


def _who(clinician: Clinician, index: int, show_names: bool) -> dict:
    if show_names:
        return {"id": clinician.id, "name": clinician.name, "label": clinician.name}
    return {"label": f"Clinician {index + 1}"}


def _construct_table(scores, construct, clinician_ids, periods, min_cell) -> dict:
    """One construct: every published cell (clinic, clinician, period, clinician x period)."""
    from analysis.summaries import describe, describe_by

    valid = scores[scores[construct].notna()]
    values = valid[construct].to_numpy()
    by_clinician = describe_by(values, valid["clinician_id"].to_numpy())
    by_period = describe_by(values, valid["period"].to_numpy())
    by_cell = describe_by(
        values, (valid["clinician_id"].astype(str) + "|" + valid["period"]).to_numpy()
    )
    reliability = _reliability(valid, construct)
    return {
        "overall": _cell(describe(values).to_dict(), min_cell),
        "reliability": _clinic_reliability(reliability, len(valid), min_cell),
        "trend": [_cell(_row(by_period, p), min_cell) for p in periods],
        "clinicians": [
            _clinician_cell(_row(by_clinician, c), reliability, min_cell) for c in clinician_ids
        ],
        "cells": [
            [_cell(_row(by_cell, f"{c}|{p}"), min_cell) for p in periods] for c in clinician_ids
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


def _too_small(n: int, min_cell: int) -> bool:
    return 0 < n < min_cell


def _cell(summary: dict, min_cell: int) -> dict:
    if _too_small(summary["n"], min_cell):
        return suppressed(min_cell)
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


def _clinic_reliability(reliability, n: int, min_cell: int) -> dict:
    if _too_small(n, min_cell):
        return suppressed(min_cell)
    if reliability is None:
        return {"icc1": None, "responses_needed": None}
    return {
        "icc1": _number(reliability.icc1),
        "responses_needed": _responses_needed(reliability.icc1),
    }


def _clinician_cell(summary: dict, reliability, min_cell: int) -> dict:
    cell = _cell(summary, min_cell)
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
    months: tuple[str | None, str | None] = (None, None),
    min_cell: int,
    scores,
) -> dict:
    """Invitations sent, opened, started and submitted, and the median minutes to complete.

    The counts are of invitations created in the selected months (and wave), rounded down to
    a multiple of ``min_cell``, so that two of them never differ by one submission. The median
    is over the released responses in ``scores`` (whole blocks), or None when there are none.
    """
    from analysis.summaries import describe

    query = select(
        func.count(Invitation.id),
        func.count(Invitation.opened_at),
        func.count(Invitation.id).filter(
            Invitation.state.in_([InvitationState.STARTED, InvitationState.SUBMITTED])
        ),
        func.count(Invitation.id).filter(Invitation.state == InvitationState.SUBMITTED),
    )
    start, end = month_bounds(months)
    query = clinic_invitations(query, clinic_id, form=form, wave=wave, start=start, end=end)
    counts = db.session.execute(query).one()
    funnel = {
        stage: round_down(count, min_cell)
        for stage, count in zip(("sent", "opened", "started", "submitted"), counts, strict=True)
    }
    seconds = scores["seconds"].dropna().to_numpy()
    funnel["median_minutes"] = describe(seconds).median / 60 if len(seconds) else None
    funnel["rounded_to"] = min_cell
    return funnel


def clinic_invitations(
    query,
    clinic_id: int,
    *,
    form: str,
    wave: int | None,
    start: datetime | None,
    end: datetime | None,
):
    """``query`` (of counts over ``Invitation``) narrowed to one form's invitations to the
    clinic's clinicians: of wave ``wave`` if given, created from ``start`` (inclusive) to
    ``end`` (exclusive). The funnel and the response rates count the same invitations."""
    query = query.join(Clinician, Invitation.clinician_id == Clinician.id).where(
        Clinician.clinic_id == clinic_id, Invitation.form == form
    )
    if wave is not None:
        query = query.join(Wave, Invitation.wave_id == Wave.id).where(Wave.number == wave)
    if start is not None:
        query = query.where(Invitation.created_at >= start)
    if end is not None:
        query = query.where(Invitation.created_at < end)
    return query


def month_bounds(months: tuple[str | None, str | None]) -> tuple[datetime | None, datetime | None]:
    """The first and the last selected month ("YYYY-MM", either open) as the start of the first
    and the start of the month after the last, in UTC."""
    first, last = months
    return (
        None if first is None else _month_start(first),
        None if last is None else _month_start(_next_month(last)),
    )


def _month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def _next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


# --- patient and clinician side by side -----------------------------------------------------


def comparison_summary(
    clinic_id: int,
    *,
    wave: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_cell: int,
    show_names: bool = True,
    withdrawal_days: int | None = None,
    language: str | None = None,
) -> dict:
    """Patient and clinician views of the same dyad waves, per construct, clinic and clinician.

    For each construct: the patient mean and the clinician mean over the released pairs (blocks
    of dyad waves both answered), the mean difference (patient - clinician) with its 95% CI and
    Bland-Altman limits of agreement, and the ICC (absolute agreement), from
    ``analysis.agreement.dyad_agreement`` and ``analysis.summaries.paired_difference``.
    ``clinician_higher`` marks a construct the clinicians rate at least ``CLINICIAN_HIGHER_BY``
    higher, with the difference's CI wholly below zero.

    Pairs are blocks of their own, apart from dyad waves only one side answered, so a
    comparison cell and the matching dashboard cell differ by whole blocks too.
    """
    _check_options("patient", wave, min_cell, "quarter")
    check_language(language)
    clinic = _clinic(clinic_id)
    months = month_range(date_from, date_to)
    release_now(clinic.id, min_cell=min_cell, withdrawal_days=withdrawal_days)
    selection = _selection(clinic.id, wave, months, language)
    frame = released_dyad_waves(selection, min_cell=min_cell)
    pairs = frame[frame["kind"] == "pair"]
    bank = load_bank()
    constructs = list(bank.form("patient").scale_spec().scales)
    clinicians = _clinicians(clinic.id)
    overall, per_clinician = {}, [{} for _ in clinicians]
    for construct in constructs:
        both = pairs[pairs[f"patient:{construct}"].notna()]
        overall[construct] = _comparison_cell(both, construct, min_cell)
        for i, clinician in enumerate(clinicians):
            mine = both[both["clinician_id"] == clinician.id]
            per_clinician[i][construct] = _comparison_cell(mine, construct, min_cell)
    return {
        "clinic": {"id": clinic.id, "name": clinic.name},
        "filters": _filters("patient", wave, months, "quarter", language),
        "min_cell": min_cell,
        "constructs": [{"id": c, "name": bank.constructs[c].name} for c in constructs],
        "overall": overall,
        "clinicians": [
            {**_who(clinician, i, show_names), "constructs": per_clinician[i]}
            for i, clinician in enumerate(clinicians)
        ],
    }


def _comparison_cell(both, construct: str, min_cell: int) -> dict:
    import pandas as pd

    from analysis.agreement import dyad_agreement
    from analysis.summaries import paired_difference

    if _too_small(len(both), min_cell):
        return suppressed(min_cell)
    if both.empty:
        return {"n": 0}
    patient = pd.DataFrame({construct: both[f"patient:{construct}"].to_numpy()})
    clinician = pd.DataFrame({construct: both[f"clinician-dyad:{construct}"].to_numpy()})
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
