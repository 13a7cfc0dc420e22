"""The dashboards split by the patient's language through whole release blocks: a block never
mixes languages, so a view of one language and the view of all differ by whole blocks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from survey.aggregates import AggregateError, clinic_summary, comparison_summary
from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import ReleaseBlock, Wave, utcnow

from .privacy_clinic import Event, apply
from .staff import add_user, sign_in
from .test_release import answers_for, expire, invitation_of, new_clinic

MIN = 5


def dyad_wave(clinician_id: int, language: str, *, clinician=True, invited_in=None) -> int:
    """A dyad wave whose patient answers in ``language`` (None: does not answer, and the
    link expires); the clinician answers, or the link expires."""
    links = invite_dyad(clinician_id)
    wave = db.session.scalar(select(Wave).where(Wave.dyad_id == links.dyad))
    at = utcnow() - timedelta(days=3)
    patient = invitation_of(wave.id, "patient")
    # Set here: which languages an invitation may name is the respondent side's business.
    patient.language = invited_in
    db.session.commit()
    if language is None:
        expire(wave.id, "patient")
    else:
        apply(Event(patient.id, at, answers_for("patient"), language))
    if clinician:
        other = invitation_of(wave.id, "clinician-dyad")
        apply(Event(other.id, at, answers_for("clinician-dyad"), "en"))
    else:
        expire(wave.id, "clinician-dyad")
    return wave.id


def n(clinic_id: int, language=None, form="patient") -> int:
    summary = clinic_summary(clinic_id, min_cell=MIN, form=form, language=language)
    return summary["overall"]["valuing"]["n"]


def test_a_block_never_mixes_languages(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(MIN - 1):
            dyad_wave(clinician_id, "en")
        dyad_wave(clinician_id, "es")
        # Five settled pairs, but four English and one Spanish: no block, nothing shown. One
        # block of all five would let "all" minus "English" show the Spanish patient's answers.
        assert (n(clinic_id), n(clinic_id, "en"), n(clinic_id, "es")) == (0, 0, 0)
        dyad_wave(clinician_id, "en")
        assert (n(clinic_id), n(clinic_id, "en"), n(clinic_id, "es")) == (MIN, MIN, 0)
        for _ in range(MIN - 1):
            dyad_wave(clinician_id, "es")
        assert (n(clinic_id), n(clinic_id, "en"), n(clinic_id, "es")) == (2 * MIN, MIN, MIN)
        blocks = db.session.scalars(select(ReleaseBlock).order_by(ReleaseBlock.id)).all()
        assert [(b.language, b.kind, b.dyad_waves) for b in blocks] == [
            ("en", "pair", MIN),
            ("es", "pair", MIN),
        ]
        comparison = comparison_summary(clinic_id, min_cell=MIN, language="es")
        assert comparison["overall"]["valuing"]["n"] == MIN
        assert comparison["filters"]["language"] == "es"
        # The clinicians' view of the same relationships splits by the patient's language too.
        assert n(clinic_id, "es", form="clinician-dyad") == MIN


def test_unanswered_patients_count_in_the_language_they_were_invited_in(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(MIN):
            dyad_wave(clinician_id, None, invited_in="es")
        for _ in range(MIN):
            dyad_wave(clinician_id, None)  # invited in no language: unknown
        summary = clinic_summary(clinic_id, min_cell=MIN, form="clinician-dyad")
        assert summary["overall"]["valuing"]["n"] == 2 * MIN
        assert n(clinic_id, "es", form="clinician-dyad") == MIN
        # A block of unknown language is in the view of all languages only.
        assert n(clinic_id, "en", form="clinician-dyad") == 0
        languages = db.session.scalars(select(ReleaseBlock.language).order_by(ReleaseBlock.id))
        assert set(languages) == {"es", None}


def test_held_back_answers_are_counted_per_language_and_rounded(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(MIN + 2):
            dyad_wave(clinician_id, "es", clinician=False)
        for _ in range(3):
            invite = invite_dyad(clinician_id)
            wave = db.session.scalar(select(Wave).where(Wave.dyad_id == invite.dyad))
            apply(
                Event(invitation_of(wave.id, "patient").id, utcnow(), answers_for("patient"), "es")
            )
        spanish = clinic_summary(clinic_id, min_cell=MIN, language="es")
        # 7 settled (a block of 5, 2 waiting) and 3 still open: 5 held back, rounded to 5.
        assert spanish["overall"]["valuing"]["n"] == MIN
        assert spanish["held_back"] == MIN
        assert clinic_summary(clinic_id, min_cell=MIN, language="en")["held_back"] == 0


def test_an_unknown_language_is_refused_by_name(app):
    with app.app_context():
        clinic_id, _ = new_clinic()
        try:
            clinic_summary(clinic_id, min_cell=MIN, language="fr")
        except AggregateError as error:
            assert str(error) == "language 'fr': expected one of en, es"
        else:
            raise AssertionError("language 'fr' was accepted")


def test_the_dashboard_page_csv_and_api_offer_the_language_filter(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(MIN):
            dyad_wave(clinician_id, "es")
        add_user("manager@example.org", "manager", clinic_id=clinic_id)
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "manager@example.org").status_code == 302
    page = client.get(f"/dashboard/clinics/{clinic_id}?language=es")
    assert page.status_code == 200
    assert '<option value="es" selected>Spanish</option>' in page.text
    assert "They count invitations in every language" in page.text
    english = client.get(f"/dashboard/clinics/{clinic_id}?language=en").text
    assert '<td class="num">5</td>' not in english.split("Invitations")[0]
    csv_text = client.get(f"/dashboard/clinics/{clinic_id}/scores.csv?language=es").text
    assert "Clinic overall,valuing,5," in csv_text
    bad = client.get(f"/dashboard/clinics/{clinic_id}?language=fr")
    assert bad.status_code == 400 and "language &#39;fr&#39;: expected one of en, es" in bad.text
    comparison = client.get(f"/dashboard/clinics/{clinic_id}/comparison?language=es")
    assert comparison.status_code == 200
