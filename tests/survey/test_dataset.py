"""Reading responses back in chunks for exports, dashboards and analysis."""

from __future__ import annotations

import math

from survey.dataset import ResponseFilter, iter_response_chunks, iter_responses, value_matrix
from survey.invitations import invite_dyad

from .conftest import Respondent


def complete(app, url: str, form: str, value_for) -> None:
    respondent = Respondent(app.test_client(), url, form)
    respondent.answer_all(value_for)
    assert respondent.submit().status_code == 302


def test_chunks_cover_every_submitted_response_once(app, clinician_id):
    with app.app_context():
        links = [invite_dyad(clinician_id, reference=f"P{i}") for i in range(3)]
    for n, link in enumerate(links):
        complete(app, link.patient_url, "patient", lambda item, n=n: str(1 + n))
    # A started but unsubmitted response is not read by default.
    Respondent(app.test_client(), links[0].clinician_url, "clinician-dyad").post_page(1, {})

    with app.app_context():
        chunks = list(iter_response_chunks(ResponseFilter(form="patient"), chunk_size=2))
        assert [len(chunk) for chunk in chunks] == [2, 1]
        records = [record for chunk in chunks for record in chunk]
        assert [record.dyad_reference for record in records] == ["P0", "P1", "P2"]
        assert all(record.wave == 1 and record.clinician == "Dr. Test" for record in records)
        item_ids = [item.id for item in Respondent(None, "", "patient").form.items]
        matrix = value_matrix(records, item_ids)
        assert matrix.shape == (3, len(item_ids))
        assert matrix[:, 0].tolist() == [1.0, 2.0, 3.0]

        assert list(iter_responses(ResponseFilter(form="clinician-dyad"))) == []
        started = list(iter_responses(ResponseFilter(form="clinician-dyad", submitted_only=False)))
        assert len(started) == 1 and started[0].submitted_at is None


def test_filters_and_codes(app, clinician_id):
    with app.app_context():
        first = invite_dyad(clinician_id, reference="A")
        second = invite_dyad(clinician_id, reference="A")
    complete(
        app,
        first.patient_url,
        "patient",
        lambda item: "not_applicable" if item.not_applicable else "5",
    )
    complete(app, second.patient_url, "patient", lambda item: "4")
    with app.app_context():
        wave_two = list(iter_responses(ResponseFilter(form="patient", wave=2)))
        assert len(wave_two) == 1 and wave_two[0].dyad_reference == "A"
        wave_one = list(iter_responses(ResponseFilter(form="patient", wave=1)))[0]
        coded = [item for item, answer in wave_one.answers.items() if answer == "not_applicable"]
        assert coded and wave_one.value(coded[0]) is None
        matrix = value_matrix([wave_one], coded)
        assert all(math.isnan(v) for v in matrix[0])
        assert list(iter_responses(ResponseFilter(form="patient", clinician_id=999))) == []


def test_value_chunks_equal_the_records_they_come_from(app, runner):
    import numpy as np

    from items import load_bank
    from survey.dataset import iter_value_chunks

    assert runner.invoke(args=["demo", "--dyads", "30", "--seed", "5"]).exit_code == 0
    item_ids = [item.id for item in load_bank().form("patient").items]
    # The items in another order, and an id no answer has: its column stays NaN.
    wanted = [*item_ids[:0:-1], "not_an_item"]
    with app.app_context():
        every = list(iter_responses(ResponseFilter(form="patient")))
        clinician = every[0].clinician_id
        for selection in (
            ResponseFilter(form="patient"),
            ResponseFilter(form="patient", clinician_id=clinician),
        ):
            records = list(iter_responses(selection))
            chunks = list(iter_value_chunks(selection, wanted, chunk_size=7))
            assert [len(chunk) for chunk in chunks[:-1]] == [7] * (len(chunks) - 1)
            expected = value_matrix(records, wanted)
            # codes ("not applicable", "skipped") are NaN as well
            assert np.isnan(expected[:, :-1]).any() and np.isnan(expected[:, -1]).all()
            np.testing.assert_array_equal(np.vstack(chunks), expected)
        ids = [record.response_id for record in records]
        # the clinician's responses are not consecutive ids: the chunks name them one by one
        assert ids[-1] - ids[0] + 1 > len(ids)
