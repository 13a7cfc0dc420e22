"""Clinics and their clinicians: creating and listing them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import Clinic, Clinician, record_audit


class ClinicError(ValueError):
    """A clinic or clinician request that cannot be met; the message names the value."""


def _clean_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ClinicError(f"the {what} name {name!r} must have 1 to 200 characters")
    return name


def clinic_record(clinic: Clinic) -> dict:
    return {"id": clinic.id, "name": clinic.name}


def clinician_record(clinician: Clinician) -> dict:
    return {
        "id": clinician.id,
        "clinic": clinician.clinic.name,
        "name": clinician.name,
        "email": clinician.email,
    }


def add_clinic(name: str, *, actor: str = "cli") -> dict:
    clinic = Clinic(name=_clean_name(name, "clinic"))
    db.session.add(clinic)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ClinicError(f"a clinic named {clinic.name!r} already exists") from None
    record_audit(actor, "clinic.create", f"clinic:{clinic.id}")
    db.session.commit()
    return clinic_record(clinic)


def find_clinic(name: str) -> Clinic:
    clinic = db.session.scalar(select(Clinic).where(Clinic.name == name))
    if clinic is None:
        raise ClinicError(f"no clinic named {name!r}; add it with 'healing-survey clinic add'")
    return clinic


def add_clinician(
    clinic_name: str, name: str, *, email: str | None = None, actor: str = "cli"
) -> dict:
    clinic = find_clinic(clinic_name)
    clinician = Clinician(clinic=clinic, name=_clean_name(name, "clinician"), email=email)
    db.session.add(clinician)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ClinicError(f"{clinic_name!r} already has a clinician {clinician.name!r}") from None
    record_audit(actor, "clinician.create", f"clinician:{clinician.id}")
    db.session.commit()
    return clinician_record(clinician)


def list_clinics() -> list[dict]:
    return [clinic_record(c) for c in db.session.scalars(select(Clinic).order_by(Clinic.id))]


def list_clinicians(clinic_name: str | None = None) -> list[dict]:
    query = select(Clinician).order_by(Clinician.id)
    if clinic_name is not None:
        query = query.where(Clinician.clinic_id == find_clinic(clinic_name).id)
    return [clinician_record(c) for c in db.session.scalars(query)]
