"""The dashboard's numbers are analysis/'s numbers on the same released data (whole release
blocks), and every cell the summaries show is made of whole blocks."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from analysis.agreement import clinician_reliability, dyad_agreement, responses_needed
from analysis.scoring import scale_scores
from analysis.summaries import describe, paired_difference
from items import load_bank
from survey.aggregates import AggregateError, clinic_summary, comparison_summary
from survey.extensions import db
from survey.models import ReleaseBlock, Wave

from .dashboard_seed import seed_clinic
from .staff import add_user, sign_in

MIN = 5


def expected_scores(seeded, form: str) -> pd.DataFrame:
    """Scale scores recomputed straight from the answers the seed wrote, with the release
    block (and its month) of each response's dyad wave, or none."""
    rows = [r for r in seeded.responses if r["form"] == form]
    spec = load_bank().form(form).scale_spec()
    answers = pd.DataFrame([r["answers"] for r in rows], columns=list(spec.item_ids), dtype=float)
    scores = scale_scores(answers, spec)
    scores["clinician_id"] = [r["clinician_id"] for r in rows]
    scores["dyad_id"] = [r["dyad_id"] for r in rows]
    blocks = dict(
        db.session.execute(
            select(Wave.dyad_id, ReleaseBlock.period_month).join(
                ReleaseBlock, Wave.release_block_id == ReleaseBlock.id
            )
        ).all()
    )
    scores["month"] = [blocks.get(r["dyad_id"]) for r in rows]
    return scores


def released(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[scores["month"].notna()]


@pytest.fixture
def seeded(app):
    with app.app_context():
        # Three clinicians: 14, 9 and 3 patients, every clinician answering too, one week apart.
        # Blocks of 5 pairs: 10 of the 14 are shown, 5 of the 9, none of the 3.
        return seed_clinic("Cedar Clinic", [14, 9, 3], clinician_rate=1.0, unsubmitted=4, seed=6)


def test_clinic_numbers_are_analysis_numbers(app, seeded):
    with app.app_context():
        summary = clinic_summary(seeded.clinic_id, min_cell=MIN, period="month")
        scores = released(expected_scores(seeded, "patient"))
    json.dumps(summary)  # JSON-ready as it is
    first = seeded.clinician_ids[0]
    trend_cells = 0
    for construct in ("valuing", "abiding", "known"):
        overall = describe(scores[construct])
        cell = summary["overall"][construct]
        assert cell["n"] == overall.n == 15
        assert cell["mean"] == pytest.approx(overall.mean, abs=1e-12)
        assert cell["ci"] == pytest.approx([overall.lower, overall.upper], abs=1e-12)

        own = describe(scores.loc[scores["clinician_id"] == first, construct])
        reliability = clinician_reliability(scores[construct], scores["clinician_id"])
        shown = summary["clinicians"][0]["constructs"][construct]
        assert shown["n"] == own.n == 10
        assert shown["mean"] == pytest.approx(own.mean, abs=1e-12)
        assert shown["ci"] == pytest.approx([own.lower, own.upper], abs=1e-12)
        assert shown["reliability"] == pytest.approx(reliability.reliability_at(10), abs=1e-12)
        assert shown["comparable"] == (reliability.reliability_at(10) >= 0.70)
        clinic_reliability = summary["reliability"][construct]
        assert clinic_reliability["icc1"] == pytest.approx(reliability.icc1, abs=1e-12)
        if 0 < reliability.icc1 < 1:
            needed = responses_needed(reliability.icc1)
            assert clinic_reliability["responses_needed"] == needed
            assert shown["more_needed"] == max(0, needed - 10)
        assert summary["clinicians"][2]["constructs"][construct] == {
            "n": 0,
            "mean": None,
            "ci": None,
            "reliability": None,
            "comparable": False,
            "more_needed": None,
        }

        # The trend, the clinic's and each clinician's: a period is the month of a block.
        months = scores.groupby("month")[construct]
        for entry in summary["trend"]:
            cell = entry["constructs"][construct]
            values = months.get_group(entry["period"])
            assert cell["n"] == len(values) >= MIN
            assert cell["mean"] == pytest.approx(values.mean(), abs=1e-12)
            trend_cells += 1
        for i, clinician in enumerate(summary["clinicians"]):
            mine = scores[scores["clinician_id"] == seeded.clinician_ids[i]]
            for entry in clinician["trend"]:
                cell = entry["constructs"][construct]
                values = mine.loc[mine["month"] == entry["period"], construct]
                assert cell["n"] == len(values) and cell["n"] in (0, 5, 10)
                if len(values):
                    assert cell["mean"] == pytest.approx(values.mean(), abs=1e-12)
                    trend_cells += 1
    assert trend_cells >= 3 * 5


def test_every_cell_is_made_of_whole_blocks_and_the_rest_waits(app, seeded):
    with app.app_context():
        summary = clinic_summary(seeded.clinic_id, min_cell=MIN)
        blocks = db.session.scalars(select(ReleaseBlock).order_by(ReleaseBlock.id)).all()
    assert [(b.kind, b.dyad_waves) for b in blocks] == [("pair", 5)] * 3
    for construct in ("valuing", "trust"):
        assert [c["constructs"][construct]["n"] for c in summary["clinicians"]] == [10, 5, 0]
        assert summary["overall"][construct]["n"] == 15
    # 4 + 4 + 3 answers wait for their blocks: shown rounded down to a multiple of 5.
    assert summary["held_back"] == 10
    assert [c["held_back"] for c in summary["clinicians"]] == [0, 0, 0]


def test_funnel_counts_are_rounded_and_the_median_is_of_released_responses(app, seeded):
    with app.app_context():
        funnel = clinic_summary(seeded.clinic_id, min_cell=MIN)["funnel"]
    assert funnel == {
        "sent": 30,  # 26 + 4
        "opened": 25,  # 26
        "started": 25,
        "submitted": 25,
        "median_minutes": 10.0,
        "rounded_to": MIN,
    }


def test_filters_select_whole_blocks(app, seeded):
    with app.app_context():
        narrow = clinic_summary(
            seeded.clinic_id, min_cell=MIN, date_from=date(2025, 2, 20), date_to=date(2025, 3, 3)
        )
        clinician_view = clinic_summary(seeded.clinic_id, min_cell=MIN, form="clinician-dyad")
        later = clinic_summary(seeded.clinic_id, min_cell=MIN, wave=2)
        with pytest.raises(AggregateError, match="clinician-self"):
            clinic_summary(seeded.clinic_id, min_cell=MIN, form="clinician-self")
        with pytest.raises(AggregateError, match="no clinic with id 999"):
            clinic_summary(999, min_cell=MIN)
        with pytest.raises(AggregateError, match="the start is after the end"):
            clinic_summary(
                seeded.clinic_id, min_cell=MIN, date_from=date(2025, 3, 1), date_to=date(2025, 2, 1)
            )
        scores = released(expected_scores(seeded, "patient"))
        clinician_scores = released(expected_scores(seeded, "clinician-dyad"))
    # Whole months: 1 February to 31 March, the blocks whose newest answer is in them.
    assert narrow["filters"]["date_from"] == "2025-02-01"
    assert narrow["filters"]["date_to"] == "2025-03-31"
    in_window = scores["month"].isin(["2025-02", "2025-03"])
    assert narrow["overall"]["valuing"]["n"] == int(in_window.sum()) > 0
    assert clinician_view["overall"]["hope"]["mean"] == pytest.approx(
        clinician_scores["hope"].mean(), abs=1e-12
    )
    assert later["overall"]["valuing"] == {"n": 0, "mean": None, "ci": None}


def test_names_only_when_asked(app, seeded):
    with app.app_context():
        anonymous = clinic_summary(seeded.clinic_id, min_cell=MIN, show_names=False)
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
        result = comparison_summary(seeded.clinic_id, min_cell=MIN)
        # Every dyad wave is a pair, so all 55 are in blocks of 5.
        patient = released(expected_scores(seeded, "patient")).set_index("dyad_id")
        clinician = released(expected_scores(seeded, "clinician-dyad")).set_index("dyad_id")
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


def test_the_comparison_and_the_dashboard_differ_by_whole_blocks(app):
    with app.app_context():
        # Clinician 1 has 20 patients and 18 clinician answers: 15 pairs are shown (3 wait),
        # and the 2 patients whose clinician did not answer wait for 3 more such patients, so
        # the dashboard's patient mean and the comparison's cover the same 15.
        close = seed_clinic("Oak Clinic", [20, 40], clinician_rate=0.8, seed=7)
        result = comparison_summary(close.clinic_id, min_cell=MIN)
        summary = clinic_summary(close.clinic_id, min_cell=MIN)
    assert paired_counts(close) == [18, 33]
    compared = [c["constructs"]["valuing"]["n"] for c in result["clinicians"]]
    shown = [c["constructs"]["valuing"]["n"] for c in summary["clinicians"]]
    assert compared == [15, 30]
    assert shown == [15, 35]  # and 5 of clinician 2's 7 unpaired patients in a block
    assert result["overall"]["valuing"]["n"] == 45


def paired_counts(seeded) -> list[int]:
    rows = [r for r in seeded.responses if r["form"] == "clinician-dyad"]
    return [sum(r["clinician_id"] == c for r in rows) for c in seeded.clinician_ids]


def test_pages_show_the_same_numbers(app, seeded):
    with app.app_context():
        add_user("boss@example.org", "manager", clinic_id=seeded.clinic_id)
        db.session.commit()
        summary = clinic_summary(seeded.clinic_id, min_cell=MIN)
    client = app.test_client()
    assert sign_in(client, "boss@example.org").status_code == 302
    page = client.get(f"/dashboard/clinics/{seeded.clinic_id}").text
    first = summary["clinicians"][0]["constructs"]["valuing"]
    assert f"{first['mean']:.2f}" in page
    assert f"{first['ci'][0]:.2f} to {first['ci'][1]:.2f}" in page
    assert f"{summary['overall']['valuing']['mean']:.2f}" in page
    text = " ".join(page.split())
    assert "numbers change only in whole groups of at least 5 responses" in text
    assert "10 or more newer responses will be shown when their group is complete" in text
    assert "<svg" in page and "<script" not in page
    csv = client.get(f"/dashboard/clinics/{seeded.clinic_id}/scores.csv").text.splitlines()
    assert csv[0] == "clinician,construct,n,mean,ci_95,reliability,comparable"
    waiting = [line for line in csv if line.startswith("Cedar Clinic clinician 3,")]
    assert waiting and all(line.split(",")[2:4] == ["0", ""] for line in waiting)
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
    cell = _clinician_cell(summary, reliability, 5)
    assert cell["reliability"] is None and cell["comparable"] is False
    assert cell["more_needed"] is None
