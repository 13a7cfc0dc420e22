"""What each dashboard page shows, built from ``survey.aggregates`` results: figures (an SVG
chart with the rows of its table) and the rows of a downloadable table. No statistics here."""

from __future__ import annotations

import csv
import io

from flask_babel import gettext, lazy_gettext

from survey.dashboard.charts import (
    ScoreRow,
    Series,
    comparison_chart,
    funnel_chart,
    score_chart,
    trend_chart,
)
from survey.spreadsheet import safe_cell

FUNNEL_STAGES = (
    ("sent", lazy_gettext("Sent")),
    ("opened", lazy_gettext("Opened")),
    ("started", lazy_gettext("Started")),
    ("submitted", lazy_gettext("Submitted")),
)


def score_figures(summary: dict, clinicians: list[dict]) -> list[dict]:
    """One figure per construct: the clinic overall, then each of ``clinicians``."""
    figures = []
    for construct in summary["constructs"]:
        key = construct["id"]
        rows = [ScoreRow(gettext("Clinic overall"), summary["overall"][key], overall=True)]
        rows += [ScoreRow(c["label"], c["constructs"][key]) for c in clinicians]
        figures.append(
            {
                "construct": construct,
                "chart": score_chart(
                    gettext("%(construct)s: mean score with 95%% CI", construct=construct["name"]),
                    rows,
                ),
                "rows": [{"label": row.label, "cell": row.cell} for row in rows],
                "reliability": summary["reliability"][key],
            }
        )
    return figures


def trend_figures(summary: dict, clinician: dict | None = None) -> list[dict]:
    """One trend chart per construct: the clinic's, or a clinician's beside the clinic's."""
    figures = []
    periods = summary["periods"]
    for construct in summary["constructs"]:
        key = construct["id"]
        clinic = [entry["constructs"][key] for entry in summary["trend"]]
        series = [Series(gettext("Clinic"), clinic, dashed=clinician is not None, hollow=True)]
        rows = [{"period": p, "clinic": cell} for p, cell in zip(periods, clinic, strict=True)]
        if clinician is not None:
            own = [entry["constructs"][key] for entry in clinician["trend"]]
            series.insert(0, Series(clinician["label"], own))
            for row, cell in zip(rows, own, strict=True):
                row["own"] = cell
        figures.append(
            {
                "construct": construct,
                "chart": trend_chart(_trend_title(construct, summary), periods, series),
                "rows": rows,
            }
        )
    return figures


def _trend_title(construct: dict, summary: dict) -> str:
    if summary["filters"]["period"] == "month":
        return gettext("%(construct)s by month", construct=construct["name"])
    return gettext("%(construct)s by quarter", construct=construct["name"])


def funnel_figure(funnel: dict) -> dict:
    stages = [(str(label), funnel[key]) for key, label in FUNNEL_STAGES]
    return {
        "chart": funnel_chart(gettext("Invitations: sent, opened, started, submitted"), stages),
        "rows": [{"stage": label, "value": value} for label, value in stages],
        "median_minutes": funnel["median_minutes"],
    }


def comparison_figure(constructs: list[dict], cells: dict) -> dict:
    rows = [(c["name"], cells[c["id"]]) for c in constructs]
    return {
        "chart": comparison_chart(gettext("Patient and clinician means per construct"), rows),
        "rows": [{"construct": name, "cell": cell} for name, cell in rows],
        "higher": [name for name, cell in rows if cell.get("clinician_higher")],
    }


def self_assessment_figures(history: dict) -> dict:
    """A clinician's own competency scores, one point per self-assessment, oldest first."""
    dates = [entry["submitted"] for entry in history["assessments"]]
    figures = []
    for construct in history["constructs"]:
        key = construct["id"]
        cells = [
            {"n": 1, "mean": entry["scores"][key], "ci": None}
            if entry["scores"][key] is not None
            else {"n": 0}
            for entry in history["assessments"]
        ]
        figures.append(
            {
                "construct": construct,
                "chart": trend_chart(
                    gettext("%(construct)s: your self-assessments", construct=construct["name"]),
                    dates,
                    [Series(gettext("You"), cells)],
                ),
            }
        )
    return {"dates": dates, "history": history, "figures": figures}


def _csv_value(cell: dict, key: str) -> str:
    if cell.get("suppressed"):
        return cell["reason"]
    value = cell.get(key)
    if value is None:
        return ""
    if key == "ci":
        return f"{value[0]:.3f} to {value[1]:.3f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def scores_csv(summary: dict) -> str:
    """The clinic table as CSV: one row per clinician (and the clinic) and construct; hidden
    cells say "fewer than N responses". Data for a spreadsheet: always in English."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["clinician", "construct", "n", "mean", "ci_95", "reliability", "comparable"])
    for construct in summary["constructs"]:
        key = construct["id"]
        overall = summary["overall"][key]
        writer.writerow(
            ["Clinic overall", key, *(_csv_value(overall, k) for k in ("n", "mean", "ci")), "", ""]
        )
        for clinician in summary["clinicians"]:
            cell = clinician["constructs"][key]
            writer.writerow(
                [
                    safe_cell(clinician["label"]),
                    key,
                    *(_csv_value(cell, k) for k in ("n", "mean", "ci", "reliability")),
                    "" if cell.get("suppressed") else str(cell.get("comparable", "")).lower(),
                ]
            )
    return out.getvalue()
