"""healing-survey: the Flask app where patients and clinicians answer paired questionnaires."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Flask is imported when an app is built, so that importing a survey module
    # that needs no app (``healing-survey analyze DATA.csv``) does not pay for it
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI and error pages."""
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    register_hardening(app)
    register_extensions(app)
    register_languages(app)
    register_blueprints(app)
    register_cli(app)
    register_error_pages(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    from survey.config import BASE_SETTINGS, from_environment

    app.config.from_mapping(BASE_SETTINGS)
    if test_config is None:
        app.config.from_mapping(from_environment(Path(app.instance_path)))
    else:
        app.config.from_mapping(
            {
                "HEALING_SURVEY_MIN_CELL": 5,
                "HEALING_SURVEY_INVITATION_DAYS": 30,
                "BASE_URL": "http://127.0.0.1:5000",
                "SMTP_URL": None,
                # A fixed test key; real installations generate their own (survey.config).
                "HEALING_SURVEY_CONTACT_KEY": "h6ZQmN1v7l2tV9bJXqg3cQkq0p7mR9yT4sUeW8dF2aA=",
            }
        )
        app.config.from_mapping(test_config)


def register_extensions(app: Flask) -> None:
    from survey.audit.chain import register_audit_chain
    from survey.database import register_database
    from survey.extensions import csrf, migrate

    register_database(app)
    migrate.init_app(app)
    csrf.init_app(app)
    register_audit_chain()


def register_languages(app: Flask) -> None:
    from survey.i18n import register_i18n

    register_i18n(app)


def register_blueprints(app: Flask) -> None:
    from survey.api.views import bp as api_bp
    from survey.audit.views import bp as audit_bp
    from survey.auth.views import bp as auth_bp
    from survey.dashboard.views import bp as dashboard_bp
    from survey.delivery.cards import bp as cards_bp
    from survey.delivery.kiosk import bp as kiosk_bp
    from survey.delivery.views import bp as delivery_bp
    from survey.exports.views import bp as exports_bp
    from survey.fhir.views import bp as fhir_bp
    from survey.invitations.views import bp as invitations_bp
    from survey.respond.views import bp as respond_bp
    from survey.site import bp as site_bp
    from survey.staff.consent import bp as consent_admin_bp
    from survey.staff.views import bp as staff_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(fhir_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(consent_admin_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(cards_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(audit_bp)


def register_cli(app: Flask) -> None:
    from survey.commands import register_commands

    register_commands(app)


def register_error_pages(app: Flask) -> None:
    from survey.errors import register_errors

    register_errors(app)


def register_hardening(app: Flask) -> None:
    from survey.security import register_security

    register_security(app)
