"""The dashboard pages: a clinic's scores, trend and funnel; a clinician's own page; the
patient-clinician comparison; and the clinic table as CSV. Every page asks survey.auth.access
who may see it, and shows only what survey.aggregates publishes (small cells hidden)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from survey.aggregates import clinic_summary, comparison_summary, self_assessments
from survey.auth.access import (
    current_account,
    deny,
    may_see_clinic,
    may_see_clinician,
    may_see_names,
    role_required,
)
from survey.dashboard.filters import FilterError, parse_filters
from survey.dashboard.pages import (
    comparison_figure,
    funnel_figure,
    score_figures,
    scores_csv,
    self_assessment_figures,
    trend_figures,
)
from survey.extensions import db
from survey.models import Clinic, Clinician, Role, record_audit

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
STAFF = ("admin", "manager", "clinician", "researcher")


@bp.after_request
def no_caching(response: Response) -> Response:
    # Clinic data must not stay in shared or browser caches after signing out.
    response.headers["Cache-Control"] = "no-store"
    return response


def _min_cell() -> int:
    return current_app.config["HEALING_SURVEY_MIN_CELL"]


def _filters_or_400():
    try:
        return parse_filters(request.args)
    except FilterError as error:
        # The way back is the page itself, without filters; for the CSV, the dashboard it is from.
        page = request.path.removesuffix("/scores.csv")
        abort(
            Response(
                render_template("dashboard/bad_filter.html", message=str(error), page=page), 400
            )
        )


def _clinic_summary(clinic_id: int, filters, *, show_names: bool = True) -> dict:
    return clinic_summary(
        clinic_id,
        form=filters.form,
        wave=filters.wave,
        date_from=filters.date_from,
        date_to=filters.date_to,
        period=filters.period,
        min_cell=_min_cell(),
        show_names=show_names,
        language=filters.language,
    )


def _comparison_summary(clinic_id: int, filters, *, show_names: bool = True) -> dict:
    return comparison_summary(
        clinic_id,
        wave=filters.wave,
        date_from=filters.date_from,
        date_to=filters.date_to,
        min_cell=_min_cell(),
        show_names=show_names,
        language=filters.language,
    )


def _clinic_or_deny(clinic_id: int) -> Clinic:
    account = current_account()
    if not may_see_clinic(account, clinic_id):
        deny(account, f"clinic {clinic_id} is not this account's")
    return db.get_or_404(Clinic, clinic_id)


@bp.get("/")
def home():
    account = current_account()
    if account is None:
        return redirect(url_for("auth.sign_in", next=request.path))
    if account.role == Role.MANAGER:
        return redirect(url_for("dashboard.clinic", clinic_id=account.clinic_id))
    if account.role == Role.CLINICIAN:
        return redirect(url_for("dashboard.clinician", clinician_id=account.clinician_id))
    return redirect(url_for("dashboard.clinics"))


@bp.get("/clinics")
@role_required("admin", "researcher")
def clinics():
    rows = db.session.scalars(select(Clinic).order_by(Clinic.name)).all()
    return render_template("dashboard/clinics.html", clinics=rows, account=current_account())


@bp.get("/clinics/<int:clinic_id>")
@role_required("admin", "manager", "researcher")
def clinic(clinic_id: int):
    clinic = _clinic_or_deny(clinic_id)
    account = current_account()
    filters = _filters_or_400()
    summary = _clinic_summary(clinic.id, filters, show_names=may_see_names(account))
    return render_template(
        "dashboard/clinic.html",
        account=account,
        summary=summary,
        filters=filters,
        scores=score_figures(summary, summary["clinicians"]),
        trends=trend_figures(summary),
        funnel=funnel_figure(summary["funnel"]),
        link_clinicians=may_see_names(account),
    )


@bp.get("/clinics/<int:clinic_id>/comparison")
@role_required("admin", "manager", "researcher")
def comparison(clinic_id: int):
    clinic = _clinic_or_deny(clinic_id)
    account = current_account()
    filters = _filters_or_400()
    result = _comparison_summary(clinic.id, filters, show_names=may_see_names(account))
    return render_template(
        "dashboard/comparison.html",
        account=account,
        comparison=result,
        filters=filters,
        overall=comparison_figure(result["constructs"], result["overall"]),
        clinicians=[
            {"who": c, "figure": comparison_figure(result["constructs"], c["constructs"])}
            for c in result["clinicians"]
        ],
    )


@bp.get("/clinics/<int:clinic_id>/scores.csv")
@role_required("admin", "manager", "researcher")
def scores_download(clinic_id: int):
    clinic = _clinic_or_deny(clinic_id)
    account = current_account()
    filters = _filters_or_400()
    summary = _clinic_summary(clinic.id, filters, show_names=may_see_names(account))
    record_audit(
        f"user:{account.id}", "dashboard.download", f"clinic:{clinic.id}", **filters.query()
    )
    db.session.commit()
    return Response(
        scores_csv(summary),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="clinic-{clinic.id}-scores.csv"'},
    )


@bp.get("/clinicians/<int:clinician_id>")
@role_required(*STAFF)
def clinician(clinician_id: int):
    account = current_account()
    if not may_see_clinician(account, clinician_id):
        deny(account, f"clinician {clinician_id} is not visible to this account")
    person = db.get_or_404(Clinician, clinician_id)
    filters = _filters_or_400()
    summary = _clinic_summary(person.clinic_id, filters)
    own = next(c for c in summary["clinicians"] if c["id"] == person.id)
    result = _comparison_summary(person.clinic_id, filters)
    own_comparison = next(c for c in result["clinicians"] if c["id"] == person.id)
    is_self = account.clinician_id == person.id
    return render_template(
        "dashboard/clinician.html",
        account=account,
        person=person,
        summary=summary,
        own=own,
        filters=filters,
        scores=score_figures(summary, [own]),
        trends=trend_figures(summary, own),
        comparison=comparison_figure(result["constructs"], own_comparison["constructs"]),
        self_assessment=self_assessment_figures(self_assessments(person.id)) if is_self else None,
        is_self=is_self,
    )
