"""The ``healing-survey`` command group: Flask's CLI (run, db, shell) plus ours.

The group lists its commands without building the app, so ``healing-survey --help`` answers
before Flask-SQLAlchemy, Alembic or the analysis stack are imported. The console script enters
through :func:`survey.console.run`, which runs ``analyze DATA.csv`` without this group.
"""

import click
from flask import g
from flask.cli import FlaskGroup, with_appcontext

from survey.commands import COMMANDS


def _create_app():
    from survey import create_app

    return create_app()


class MigrationsGroup(click.Group):
    """Flask-Migrate's ``db`` commands, imported (with Alembic) only when one is run."""

    def _real(self) -> click.Group:
        from flask_migrate.cli import db

        return db

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str):
        return self._real().get_command(ctx, name)


@click.group(cls=MigrationsGroup, help="Database migrations: upgrade, downgrade, current, history.")
@click.option("-d", "--directory", default=None, help="Migration script directory.")
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments for env.py.")
@with_appcontext
def db(directory, x_arg):
    # The same set-up as Flask-Migrate's own group: its commands read these from ``g``.
    g.directory = directory
    g.x_arg = x_arg


class HealingSurveyGroup(FlaskGroup):
    def _load_plugin_commands(self) -> None:
        # Flask-Migrate's "db" is the one plugin command we serve, added lazily below.
        self._loaded_plugin_commands = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def invoke(self, ctx: click.Context):
        """Every command: a database or setting that cannot be used is one line, no traceback."""
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except Exception as error:
            problem = _setup_problem(ctx, error)
            if problem is None:
                raise
            raise click.ClickException(problem) from None


def _setup_problem(ctx: click.Context, error: Exception) -> str | None:
    """What is wrong with the settings or the database, in one line, or None."""
    import os

    from flask.cli import ScriptInfo

    from survey.config import ConfigError

    if isinstance(error, ConfigError):
        return str(error)
    if "sqlalchemy" not in type(error).__module__ and not isinstance(error, ModuleNotFoundError):
        return None
    from survey.database import database_problem

    app = getattr(ctx.ensure_object(ScriptInfo), "_loaded_app", None)
    url = app.config.get("SQLALCHEMY_DATABASE_URI") if app is not None else None
    return database_problem(error, url or os.environ.get("DATABASE_URL"))


main = HealingSurveyGroup(
    create_app=_create_app,
    commands=[
        *COMMANDS,
        db,
    ],
    help="healing-survey: the survey app, its data and their analysis.",
)
