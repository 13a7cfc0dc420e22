"""The audit log in the browser, for admins only: filter, page through, export as CSV."""

from __future__ import annotations

from math import ceil

from flask import Blueprint, Response, abort, render_template, request, stream_with_context

from survey.audit import log
from survey.auth.access import actor_of, current_account, role_required
from survey.extensions import db
from survey.models import Role, record_audit, utcnow

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.after_request
def no_caching(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _filters_or_400() -> log.AuditFilters:
    try:
        return log.parse_audit_filters(request.args)
    except log.AuditFilterError as error:
        abort(
            Response(
                render_template("dashboard/bad_filter.html", message=str(error), page=request.path),
                400,
            )
        )


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    filters = _filters_or_400()
    total = log.count(filters)
    pages = max(1, ceil(total / log.PAGE_SIZE))
    return render_template(
        "audit/index.html",
        account=current_account(),
        filters=filters,
        entries=log.page_of(filters),
        total=total,
        pages=pages,
        actions=log.known_actions(),
        detail_text=log.detail_text,
    )


@bp.get("/export.csv")
@role_required(Role.ADMIN)
def export_csv():
    filters = _filters_or_400()
    rows = log.count(filters)
    account = current_account()
    record_audit(actor_of(account), "audit.export", None, rows=rows, filters=filters.query_args())
    db.session.commit()
    name = f"audit-log-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(log.csv_lines(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
