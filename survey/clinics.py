"""Clinics and their clinicians: creating, renaming, retiring and listing them, and how a
clinic's forms name the clinician.

A retired clinic or clinician keeps its history (dyads, answers, dashboards) and gets no new
invitations; retiring can be undone.
"""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from items import BankError, ItemBank, load_bank
from survey.extensions import db
from survey.models import Clinic, Clinician, record_audit, utcnow

NAME_MAX_LENGTH = 200
DEFAULT_TERM = "clinician"


class ClinicError(ValueError):
    """A clinic or clinician request that cannot be met; the message names the value.

    Messages go through gettext: a staff page shows them in its language, while the CLI (no
    request) always gets English.
    """


def _clean_name(name: str | None, what: str) -> str:
    """``what`` is "clinic" or "clinician"; each has its own messages, for word order and
    gender in other languages."""
    name = " ".join((name or "").split())
    if not name:
        if what == "clinic":
            raise ClinicError(gettext("the clinic name is empty; give it a name"))
        raise ClinicError(gettext("the clinician name is empty; give it a name"))
    if len(name) > NAME_MAX_LENGTH:
        values = {"name": repr(name[:40]), "length": len(name), "limit": NAME_MAX_LENGTH}
        if what == "clinic":
            message = gettext(
                "the clinic name %(name)s... has %(length)s characters; use at most %(limit)s",
                **values,
            )
        else:
            message = gettext(
                "the clinician name %(name)s... has %(length)s characters; use at most %(limit)s",
                **values,
            )
        raise ClinicError(message)
    return name


def _clinic_name_taken(name: str) -> str:
    return gettext("a clinic named %(name)s already exists; choose another name", name=repr(name))


def _when(moment) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def clinic_record(clinic: Clinic) -> dict:
    return {
        "id": clinic.id,
        "name": clinic.name,
        "clinician_term": clinic.clinician_term,
        "retired_at": _when(clinic.retired_at),
    }


def clinician_record(clinician: Clinician) -> dict:
    return {
        "id": clinician.id,
        "clinic": clinician.clinic.name,
        "name": clinician.name,
        "email": clinician.email,
        "retired_at": _when(clinician.retired_at),
    }


# How a clinic's forms name the clinician ------------------------------------------------------


def clinician_terms(language: str | None = None) -> dict[str, str]:
    """The terms a clinic may choose for how its forms name the clinician, each worded in
    ``language`` (the item bank's own language by default).

    Examples
    --------
    >>> clinician_terms()
    {'clinician': 'clinician', 'doctor': 'doctor', 'nurse_practitioner': 'nurse practitioner'}
    >>> clinician_terms("es")["doctor"]
    'médico'
    """
    return dict(load_bank(language=language).clinician_terms)


def _check_term(term: str | None) -> str:
    term = (term or "").strip()
    known = clinician_terms()
    if term not in known:
        raise ClinicError(
            gettext(
                "clinician term %(term)s is not one the forms know; expected one of: %(known)s",
                term=repr(term),
                known=", ".join(known),
            )
        )
    return term


def form_bank(clinic: Clinic | None, language: str | None = None) -> ItemBank:
    """The item bank as ``clinic``'s respondents read it: in ``language`` (the bank's own by
    default), naming the clinician as the clinic chose. Every page or file that shows a form
    for one clinic loads the bank through here.

    Raises
    ------
    ClinicError
        If ``language`` is not one of the bank's, or the clinic's term is no longer in it.
    """
    term = None if clinic is None else clinic.clinician_term
    try:
        return load_bank(language=language, clinician_term=term)
    except BankError as error:
        raise ClinicError(str(error)) from None


def set_clinician_term(clinic_id: int, term: str, *, actor: str = "cli") -> dict:
    """Choose how the clinic's forms name the clinician (audited); the same term in every
    language, worded by the item bank."""
    clinic = _clinic_by_id(clinic_id)
    term = _check_term(term)
    if term == clinic.clinician_term:
        return clinic_record(clinic)
    old = clinic.clinician_term
    clinic.clinician_term = term
    record_audit(actor, "clinic.clinician_term", f"clinic:{clinic.id}", old=old, new=term)
    db.session.commit()
    return clinic_record(clinic)


def set_clinician_term_by_name(name: str, term: str, *, actor: str = "cli") -> dict:
    return set_clinician_term(find_clinic(name).id, term, actor=actor)


def add_clinic(name: str, *, clinician_term: str | None = None, actor: str = "cli") -> dict:
    clinic = Clinic(
        name=_clean_name(name, "clinic"),
        clinician_term=DEFAULT_TERM if clinician_term is None else _check_term(clinician_term),
    )
    db.session.add(clinic)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ClinicError(_clinic_name_taken(clinic.name)) from None
    record_audit(
        actor, "clinic.create", f"clinic:{clinic.id}", clinician_term=clinic.clinician_term
    )
    db.session.commit()
    return clinic_record(clinic)


def find_clinic(name: str) -> Clinic:
    clinic = db.session.scalar(select(Clinic).where(Clinic.name == name))
    if clinic is None:
        raise ClinicError(
            gettext(
                "no clinic named %(name)s; add it with 'healing-survey clinic add'", name=repr(name)
            )
        )
    return clinic


def add_clinician(
    clinic_name: str, name: str, *, email: str | None = None, actor: str = "cli"
) -> dict:
    clinic = find_clinic(clinic_name)
    if clinic.retired_at is not None:
        raise ClinicError(
            gettext(
                "the clinic %(name)s is retired; it takes no new clinicians",
                name=repr(clinic.name),
            )
        )
    clinician = Clinician(
        clinic=clinic, name=_clean_name(name, "clinician"), email=_clean_email(email)
    )
    db.session.add(clinician)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ClinicError(
            gettext(
                "%(clinic)s already has a clinician named %(name)s;"
                " choose another name (for example with a middle initial)",
                clinic=repr(clinic.name),
                name=repr(clinician.name),
            )
        ) from None
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


def _clean_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise ClinicError(
            gettext(
                "e-mail address %(email)s is not valid; expected name@example.org",
                email=repr(email),
            )
        )
    return email


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def find_clinician(clinician_id: int) -> Clinician:
    clinician = db.session.get(Clinician, clinician_id)
    if clinician is None:
        raise ClinicError(
            gettext(
                "there is no clinician with id %(id)s; 'healing-survey clinician list' shows them",
                id=clinician_id,
            )
        )
    return clinician


def rename_clinic(old_name: str, new_name: str, *, actor: str = "cli") -> dict:
    """Give a clinic a new name; its history stays under the new name."""
    return _rename_clinic(find_clinic(old_name), new_name, actor=actor)


def _rename_clinic(clinic: Clinic, new_name: str, *, actor: str) -> dict:
    name = _clean_name(new_name, "clinic")
    if name == clinic.name:
        return clinic_record(clinic)
    taken = db.session.scalar(select(Clinic).where(Clinic.name == name, Clinic.id != clinic.id))
    if taken is not None:
        raise ClinicError(_clinic_name_taken(name))
    old = clinic.name
    clinic.name = name
    record_audit(actor, "clinic.rename", f"clinic:{clinic.id}", old=old, new=name)
    db.session.commit()
    return clinic_record(clinic)


def rename_clinic_by_id(clinic_id: int, new_name: str, *, actor: str) -> dict:
    return _rename_clinic(_clinic_by_id(clinic_id), new_name, actor=actor)


def _clinic_by_id(clinic_id: int) -> Clinic:
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise ClinicError(gettext("there is no clinic with id %(id)s", id=clinic_id))
    return clinic


def retire_clinic(name: str, *, retire: bool = True, actor: str = "cli") -> dict:
    """Retire a clinic (no new invitations, history kept), or bring it back."""
    return _retire_clinic(find_clinic(name), retire=retire, actor=actor)


def retire_clinic_by_id(clinic_id: int, *, retire: bool = True, actor: str) -> dict:
    return _retire_clinic(_clinic_by_id(clinic_id), retire=retire, actor=actor)


def _retire_clinic(clinic: Clinic, *, retire: bool, actor: str) -> dict:
    if (clinic.retired_at is not None) == retire:
        if retire:
            message = gettext("the clinic %(name)s is already retired", name=repr(clinic.name))
        else:
            message = gettext("the clinic %(name)s is already not retired", name=repr(clinic.name))
        raise ClinicError(message)
    clinic.retired_at = utcnow() if retire else None
    record_audit(actor, "clinic.retire" if retire else "clinic.reinstate", f"clinic:{clinic.id}")
    db.session.commit()
    return clinic_record(clinic)


def rename_clinician(clinician_id: int, new_name: str, *, actor: str = "cli") -> dict:
    """Give a clinician a new name (a marriage, a typo); their history stays theirs."""
    clinician = find_clinician(clinician_id)
    name = _clean_name(new_name, "clinician")
    if name == clinician.name:
        return clinician_record(clinician)
    taken = db.session.scalar(
        select(Clinician).where(
            Clinician.clinic_id == clinician.clinic_id,
            Clinician.name == name,
            Clinician.id != clinician.id,
        )
    )
    if taken is not None:
        raise ClinicError(
            gettext(
                "%(clinic)s already has a clinician named %(name)s (id %(id)s);"
                " choose another name",
                clinic=repr(clinician.clinic.name),
                name=repr(name),
                id=taken.id,
            )
        )
    old = clinician.name
    clinician.name = name
    record_audit(actor, "clinician.rename", f"clinician:{clinician.id}", old=old, new=name)
    db.session.commit()
    return clinician_record(clinician)


def retire_clinician(clinician_id: int, *, retire: bool = True, actor: str = "cli") -> dict:
    """Retire a clinician (no new invitations, history kept), or bring them back."""
    clinician = find_clinician(clinician_id)
    if (clinician.retired_at is not None) == retire:
        values = {"id": clinician.id, "name": clinician.name}
        if retire:
            message = gettext("clinician %(id)s (%(name)s) is already retired", **values)
        else:
            message = gettext("clinician %(id)s (%(name)s) is already not retired", **values)
        raise ClinicError(message)
    if not retire and clinician.clinic.retired_at is not None:
        raise ClinicError(
            gettext(
                "the clinic %(name)s is retired; bring the clinic back first",
                name=repr(clinician.clinic.name),
            )
        )
    clinician.retired_at = utcnow() if retire else None
    action = "clinician.retire" if retire else "clinician.reinstate"
    record_audit(actor, action, f"clinician:{clinician.id}")
    db.session.commit()
    return clinician_record(clinician)
