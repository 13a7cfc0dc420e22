"""Reaching people: e-mail over SMTP (and, later, other channels) for invitations, reminders and
staff messages."""
