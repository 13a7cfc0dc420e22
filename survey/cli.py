"""The ``healing-survey`` console script: Flask's CLI (run, db, shell) plus ours."""

from flask.cli import FlaskGroup


def _create_app():
    from survey import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="healing-survey: the app, its data and analysis.")
