"""Helpers for the data-exchange tests: seeded responses, staff accounts, tokens, sign-in."""

from __future__ import annotations

from functools import cache

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Clinic, Clinician, Response, User

from .conftest import csrf_token

PASSWORD = "correct horse battery staple"


@cache
def password_hash() -> str:
    """Hashing is slow: once per test session, as Flask-SQLAlchemy's flaskr does it."""
    from survey.auth.accounts import hash_password

    return hash_password(PASSWORD)


def seed_demo(app, *, dyads: int = 12, seed: int = 7) -> None:
    from survey.demo import create_demo

    with app.app_context():
        create_demo(dyads=dyads, seed=seed)


def add_user(app, email: str, role: str, *, clinic_id=None, clinician_id=None) -> int:
    with app.app_context():
        account = User(
            email=email,
            password_hash=password_hash(),
            role=role,
            clinic_id=clinic_id,
            clinician_id=clinician_id,
        )
        db.session.add(account)
        db.session.commit()
        return account.id


def api_token(app, email: str) -> str:
    from survey.api.tokens import create_token

    with app.app_context():
        return create_token(email, "tests").token


def sign_in(client, email: str) -> None:
    token = csrf_token(client.get("/sign-in").text)
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text


def first_clinic(app) -> tuple[int, list[int]]:
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).order_by(Clinic.id))
        clinicians = db.session.scalars(
            select(Clinician.id).where(Clinician.clinic_id == clinic.id).order_by(Clinician.id)
        )
        return clinic.id, list(clinicians)


def submitted_count(app, form: str = "patient") -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.form == form, Response.submitted_at.is_not(None))
        )


def stored_answers(response_id: int) -> dict[str, int | str]:
    rows = db.session.execute(
        select(Answer.item_id, Answer.value, Answer.code).where(Answer.response_id == response_id)
    )
    return {item: value if code is None else code for item, value, code in rows}
