"""The dashboard's numbers are analysis/'s numbers on the same data, with small cells hidden so
that no hidden cell can be recovered by subtraction."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analysis.agreement import clinician_reliability, dyad_agreement, responses_needed
from analysis.scoring import scale_scores
from analysis.summaries import describe, paired_difference
from items import load_bank
from survey.aggregates import (
    COMPLEMENTARY_REASON,
    AggregateError,
    clinic_summary,
    comparison_summary,
)

from .dashboard_seed import seed_clinic
from .staff import add_user, sign_in

HIDDEN = {"suppressed": True, "reason": "fewer than 5 responses"}
# A cell of 5 or more hidden only to protect a smaller one says so.
PROTECTING = {"suppressed": True, "reason": COMPLEMENTARY_REASON}


def expected_scores(seeded, form: str) -> pd.DataFrame:
    """Scale scores recomputed straight from the answers the seed wrote."""
    rows = [r for r in seeded.responses if r["form"] == form]
    spec = load_bank().form(form).scale_spec()
    answers = pd.DataFrame([r["answers"] for r in rows], columns=list(spec.item_ids), dtype=float)
    scores = scale_scores(answers, spec)
    scores["clinician_id"] = [r["clinician_id"] for r in rows]
    scores["dyad_id"] = [r["dyad_id"] for r in rows]
    scores["month"] = [r["submitted_at"].strftime("%Y-%m") for r in rows]
    return scores


@pytest.fixture
def seeded(app):
    with app.app_context():
        # Three clinicians: 14, 9 and 3 patients. The 3 must be hidden, and so must the 9,
        # or the clinic total minus the 14 would give the 3 away.
        return seed_clinic("Cedar Clinic", [14, 9, 3], clinician_rate=0.75, unsubmitted=4)


def test_clinic_numbers_are_analysis_numbers(app, seeded):
    with app.app_context():
        summary = clinic_summary(seeded.clinic_id, min_cell=5, period="month")
    json.dumps(summary)  # JSON-ready as it is
    scores = expected_scores(seeded, "patient")
    first = seeded.clinician_ids[0]
    for construct in ("valuing", "abiding", "known"):
        overall = describe(scores[construct])
        cell = summary["overall"][construct]
        assert cell["n"] == overall.n == 26
        assert cell["mean"] == pytest.approx(overall.mean, abs=1e-12)
        assert cell["ci"] == pytest.approx([overall.lower, overall.upper], abs=1e-12)

        own = describe(scores.loc[scores["clinician_id"] == first, construct])
        reliability = clinician_reliability(scores[construct], scores["clinician_id"])
        shown = summary["clinicians"][0]["constructs"][construct]
        assert shown["n"] == own.n == 14
        assert shown["mean"] == pytest.approx(own.mean, abs=1e-12)
        assert shown["ci"] == pytest.approx([own.lower, own.upper], abs=1e-12)
        assert shown["reliability"] == pytest.approx(reliability.reliability_at(14), abs=1e-12)
        assert shown["comparable"] == (reliability.reliability_at(14) >= 0.70)
        clinic_reliability = summary["reliability"][construct]
        assert clinic_reliability["icc1"] == pytest.approx(reliability.icc1, abs=1e-12)
        if 0 < reliability.icc1 < 1:
            needed = responses_needed(reliability.icc1)
            assert clinic_reliability["responses_needed"] == needed
            assert shown["more_needed"] == max(0, needed - 14)

        # The trend: one month holds about four weekly submissions.
        months = scores.groupby("month")[construct]
        for entry in summary["trend"]:
            cell = entry["constructs"][construct]
            values = months.get_group(entry["period"])
            if cell.get("suppressed"):
                continue
            assert cell["n"] == len(values)
            assert cell["mean"] == pytest.approx(values.mean(), abs=1e-12)


def test_small_cells_and_their_complements_are_hidden(app, seeded):
    with app.app_context():
        summary = clinic_summary(seeded.clinic_id, min_cell=5)
    for construct in ("valuing", "trust"):
        cells = [c["constructs"][construct] for c in summary["clinicians"]]
        assert cells[2] == HIDDEN  # 3 respondents
        assert cells[1] == PROTECTING  # 9, hidden so that 26 - 14 does not give the 3 away
        assert cells[0]["n"] == 14
        assert summary["overall"][construct]["n"] == 26
        # What a reader can subtract, total minus what is shown, covers 12 >= 5 respondents.
        assert summary["overall"][construct]["n"] - cells[0]["n"] >= 5
    # The same data at a cell size of 3 hides nothing.
    with app.app_context():
        relaxed = clinic_summary(seeded.clinic_id, min_cell=3)
    assert relaxed["clinicians"][2]["constructs"]["valuing"]["n"] == 3
    assert relaxed["clinicians"][1]["constructs"]["valuing"]["n"] == 9


def test_a_clinicians_own_trend_is_protected_against_the_clinic_trend(app, seeded):
    with app.app_context():
        summary = clinic_summary(seeded.clinic_id, min_cell=5, period="quarter")
    for construct in ("valuing",):
        for i, clinician in enumerate(summary["clinicians"]):
            for j, entry in enumerate(clinician["trend"]):
                cell = entry["constructs"][construct]
                if not cell.get("suppressed"):
                    assert cell["n"] == 0 or cell["n"] >= 5, (i, j)


def test_funnel_counts_and_median(app, seeded):
    with app.app_context():
        funnel = clinic_summary(seeded.clinic_id, min_cell=5)["funnel"]
    assert funnel == {
        "sent": 26 + 4,
        "opened": 26,
        "started": 26,
        "submitted": 26,
        "median_minutes": 10.0,
    }


def test_filters(app, seeded):
    with app.app_context():
        narrow = clinic_summary(
            seeded.clinic_id, min_cell=1, date_from=date(2025, 2, 20), date_to=date(2025, 3, 3)
        )
        clinician_view = clinic_summary(seeded.clinic_id, min_cell=1, form="clinician-dyad")
        later = clinic_summary(seeded.clinic_id, min_cell=1, wave=2)
        with pytest.raises(AggregateError, match="clinician-self"):
            clinic_summary(seeded.clinic_id, min_cell=5, form="clinician-self")
        with pytest.raises(AggregateError, match="no clinic with id 999"):
            clinic_summary(999, min_cell=5)
    # Whole months: 1 February to 31 March.
    assert narrow["filters"]["date_from"] == "2025-02-01"
    assert narrow["filters"]["date_to"] == "2025-03-31"
    scores = expected_scores(seeded, "patient")
    in_window = scores["month"].isin(["2025-02", "2025-03"])
    assert narrow["overall"]["valuing"]["n"] == int(in_window.sum())
    clinician_scores = expected_scores(seeded, "clinician-dyad")
    assert clinician_view["overall"]["hope"]["mean"] == pytest.approx(
        clinician_scores["hope"].mean(), abs=1e-12
    )
    assert later["overall"]["valuing"] == {"n": 0, "mean": None, "ci": None}


def test_names_only_when_asked(app, seeded):
    with app.app_context():
        anonymous = clinic_summary(seeded.clinic_id, min_cell=5, show_names=False)
    assert [c["label"] for c in anonymous["clinicians"]] == [
        "Clinician 1",
        "Clinician 2",
        "Clinician 3",
    ]
    assert all("id" not in c and "name" not in c for c in anonymous["clinicians"])
    assert "Cedar Clinic clinician" not in json.dumps(anonymous["clinicians"])


def test_comparison_numbers_are_analysis_numbers(app):
    with app.app_context():
        seeded = seed_clinic("Pine Clinic", [30, 25], clinician_rate=1.0, seed=4)
        result = comparison_summary(seeded.clinic_id, min_cell=5)
    patient = expected_scores(seeded, "patient").set_index("dyad_id")
    clinician = expected_scores(seeded, "clinician-dyad").set_index("dyad_id")
    constructs = ["valuing", "appreciating_power", "abiding", "trust", "hope", "known"]
    reference = dyad_agreement(patient[constructs], clinician[constructs]).table
    for construct in constructs:
        cell = result["overall"][construct]
        row = reference.loc[construct]
        assert cell["n"] == row["n"] == 55
        for key, column in (
            ("patient_mean", "patient_mean"),
            ("clinician_mean", "clinician_mean"),
            ("mean_difference", "mean_difference"),
            ("icc", "icc"),
        ):
            assert cell[key] == pytest.approx(row[column], abs=1e-12)
        assert cell["limits_of_agreement"] == pytest.approx(
            [row["lower_limit"], row["upper_limit"]], abs=1e-12
        )
        difference = paired_difference(patient[construct], clinician.loc[patient.index, construct])
        assert cell["difference_ci"] == pytest.approx([difference.lower, difference.upper])
        # The seed makes clinicians answer 0.4 points higher on average.
        assert cell["clinician_higher"] is True
    first = result["clinicians"][0]["constructs"]["trust"]
    mine = patient["clinician_id"] == seeded.clinician_ids[0]
    assert first["n"] == 30
    assert first["patient_mean"] == pytest.approx(patient.loc[mine, "trust"].mean(), abs=1e-12)


def test_comparison_hides_cells_a_few_dyads_away_from_the_dashboard(app):
    with app.app_context():
        # Clinician 1 has 20 patients and 18 clinician answers: the dashboard's patient mean over
        # 20 and the comparison's over the 18 pairs would together reveal the other 2 patients.
        close = seed_clinic("Oak Clinic", [20, 40], clinician_rate=0.8, seed=7)
        close_result = comparison_summary(close.clinic_id, min_cell=5)
        # Here 15 of 20 and 32 of 40 are paired: 5 and 8 unpaired patients, nothing to hide.
        apart = seed_clinic("Elm Clinic", [20, 40], clinician_rate=0.8, seed=5)
        apart_result = comparison_summary(apart.clinic_id, min_cell=5)
    assert paired_counts(close) == [18, 33]
    cells = [c["constructs"]["valuing"] for c in close_result["clinicians"]]
    # The first is hidden; the second too, or the clinic total minus it would give it away.
    assert cells == [PROTECTING, PROTECTING]
    assert close_result["overall"]["valuing"]["n"] == 51
    assert paired_counts(apart) == [15, 32]
    assert [c["constructs"]["valuing"]["n"] for c in apart_result["clinicians"]] == [15, 32]


def paired_counts(seeded) -> list[int]:
    rows = [r for r in seeded.responses if r["form"] == "clinician-dyad"]
    return [sum(r["clinician_id"] == c for r in rows) for c in seeded.clinician_ids]


def test_pages_show_the_same_numbers(app, seeded):
    with app.app_context():
        add_user("boss@example.org", "manager", clinic_id=seeded.clinic_id)
        from survey.extensions import db

        db.session.commit()
        summary = clinic_summary(seeded.clinic_id, min_cell=5)
    client = app.test_client()
    assert sign_in(client, "boss@example.org").status_code == 302
    page = client.get(f"/dashboard/clinics/{seeded.clinic_id}").text
    first = summary["clinicians"][0]["constructs"]["valuing"]
    assert f"{first['mean']:.2f}" in page
    assert f"{first['ci'][0]:.2f} to {first['ci'][1]:.2f}" in page
    assert f"{summary['overall']['valuing']['mean']:.2f}" in page
    assert "fewer than 5 responses" in page and COMPLEMENTARY_REASON in page
    assert "<svg" in page and "<script" not in page
    csv = client.get(f"/dashboard/clinics/{seeded.clinic_id}/scores.csv").text.splitlines()
    assert csv[0] == "clinician,construct,n,mean,ci_95,reliability,comparable"
    hidden_rows = [line for line in csv if line.startswith("Cedar Clinic clinician 3,")]
    assert hidden_rows and all("fewer than 5 responses" in line for line in hidden_rows)
    protecting_rows = [line for line in csv if line.startswith("Cedar Clinic clinician 2,")]
    assert protecting_rows
    assert all(line.count(COMPLEMENTARY_REASON) == 4 for line in protecting_rows)
    bad = client.get(f"/dashboard/clinics/{seeded.clinic_id}?wave=first")
    assert bad.status_code == 400 and "wave &#39;first&#39;" in bad.text


def test_means_computed_by_hand():
    # A hand check of the chain the dashboard relies on: answers -> scale score -> mean and CI.
    answers = pd.DataFrame({"a": [5, 4, 3, np.nan], "b": [5, 2, 3, 4]}, dtype=float)
    scores = scale_scores(answers, {"s": ["a", "b"]})["s"]
    assert scores.tolist() == [5.0, 3.0, 3.0, 4.0]
    result = describe(scores)
    assert result.mean == 3.75
    # t(0.975, 3) = 3.182446305; sd = 0.9574271; half width = 1.5234
    assert result.upper - result.mean == pytest.approx(3.182446305 * 0.9574271 / 2, abs=1e-6)


def test_no_reliability_is_shown_where_clinicians_do_not_differ():
    from analysis.agreement import clinician_reliability
    from survey.aggregates import _clinician_cell

    # Patients vary more within clinicians than between them: ICC(1) is below zero.
    scores = [1.0, 5.0, 1.0, 5.0, 1.0, 5.0, 1.4, 5.0, 1.0, 5.0, 1.0, 4.6]
    groups = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    reliability = clinician_reliability(scores, groups)
    assert reliability.icc1 < 0
    summary = {"n": 12, "mean": 3.0, "lower": 1.7, "upper": 4.3}
    cell = _clinician_cell(summary, reliability, False, 5)
    assert cell["reliability"] is None and cell["comparable"] is False
    assert cell["more_needed"] is None
