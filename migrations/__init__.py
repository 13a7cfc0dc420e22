"""Alembic revisions (Flask-Migrate): the only way the schema changes."""
