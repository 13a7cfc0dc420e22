"""Staff accounts for the sign-in and dashboard tests, and a helper that signs in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask.testing import FlaskClient

from survey.auth.accounts import hash_password
from survey.extensions import db
from survey.models import Clinic, Clinician, User

from .conftest import csrf_token

PASSWORD = "a long enough test password"


@dataclass(frozen=True)
class Staff:
    clinic_a: int
    clinic_b: int
    clinician_a1: int
    clinician_a2: int
    clinician_b1: int


def add_staff() -> Staff:
    """Two clinics with clinicians, and one account of every role (call in an app context)."""
    a, b = Clinic(name="Alder Clinic"), Clinic(name="Birch Clinic")
    a1 = Clinician(clinic=a, name="Dr. Alder One")
    a2 = Clinician(clinic=a, name="Dr. Alder Two")
    b1 = Clinician(clinic=b, name="Dr. Birch One")
    db.session.add_all([a, b, a1, a2, b1])
    db.session.flush()
    add_user("admin@example.org", "admin")
    add_user("manager@example.org", "manager", clinic_id=a.id)
    add_user("a1@example.org", "clinician", clinic_id=a.id, clinician_id=a1.id)
    add_user("researcher@example.org", "researcher")
    db.session.commit()
    return Staff(a.id, b.id, a1.id, a2.id, b1.id)


@cache
def password_hash() -> str:
    """Hashed once per test session: argon2 is slow on purpose."""
    return hash_password(PASSWORD)


def add_user(email: str, role: str, **placement) -> None:
    db.session.add(User(email=email, role=role, password_hash=password_hash(), **placement))


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs):
    token = csrf_token(client.get("/sign-in", **kwargs).text)
    return client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )
