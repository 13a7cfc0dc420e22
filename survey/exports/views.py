"""The download page at ``/exports``: admins export everything, a manager their own clinic's
responses, a researcher de-identified files only; clinicians export nothing."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
)

from items import load_bank
from survey.auth.access import actor_of, current_account, role_required
from survey.exports.layout import ExportError
from survey.exports.service import FORMATS, SELF_ASSESSMENT, ExportRequest, export_stream
from survey.i18n import current_language
from survey.languages import language_choices
from survey.models import Role, User

bp = Blueprint("exports", __name__, url_prefix="/exports")
EXPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.RESEARCHER)


def _must_deidentify(account: User) -> bool:
    return account.role == Role.RESEARCHER


def _scope(account: User) -> int | None:
    return account.clinic_id if account.role == Role.MANAGER else None


@bp.get("/")
@role_required(*EXPORT_ROLES)
def index():
    account = current_account()
    return render_template(
        "exports/index.html",
        forms=list(load_bank().forms.values()),
        response_formats=[f for f in FORMATS.values() if f.holds_responses],
        instrument_formats=[f for f in FORMATS.values() if not f.holds_responses],
        deidentified_only=_must_deidentify(account),
        clinic=account.clinic if account.role == Role.MANAGER else None,
        # The rules of survey.exports.service: a clinic's export never holds self-assessments,
        # and everyone else gets them de-identified only. Offer nothing that would answer 400.
        self_assessment=SELF_ASSESSMENT,
        self_assessments_offered=_scope(account) is None,
        languages=language_choices(current_language()),
        translation=dict(load_bank().languages),
    )


@bp.get("/download")
@role_required(*EXPORT_ROLES)
def download():
    account = current_account()
    deidentify = _must_deidentify(account) or request.args.get("deidentify") in ("1", "on")
    export = ExportRequest(
        format=request.args.get("format", ""),
        form=request.args.get("form", "patient"),
        deidentify=deidentify,
        clinic_id=_scope(account),
        language=request.args.get("language") or None,
    )
    try:
        stream = export_stream(
            export, actor=actor_of(account), secret_key=current_app.config["SECRET_KEY"]
        )
    except ExportError as error:
        return render_template("errors/error.html", status=400, message=str(error)), 400
    return Response(
        stream_with_context(stream),
        mimetype=export.export_format.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
