"""Invitations: links to the forms, created one dyad wave at a time or from an appointment list,
listed, revoked, extended and reissued (service), from the browser (views) and the CLI
(commands).

The service's names are importable from here (``from survey.invitations import invite_dyad``);
they load on first use, so that ``healing-survey --help`` does not import the database stack.
"""

from __future__ import annotations

import importlib

_SERVICE_NAMES = frozenset(
    {
        "DEFAULT_EXPIRES_DAYS",
        "DYAD_FORMS",
        "DyadWaveLinks",
        "InvitationError",
        "SelfAssessmentLink",
        "absolute_url",
        "extend",
        "find_invitation",
        "hash_token",
        "invite_dyad",
        "invite_self_assessment",
        "new_token",
        "reissue",
        "revoke",
        "state_of",
        "survey_path",
        "survey_url",
    }
)

__all__ = sorted(_SERVICE_NAMES)


def __getattr__(name: str):
    if name in _SERVICE_NAMES:
        return getattr(importlib.import_module("survey.invitations.service"), name)
    raise AttributeError(f"module 'survey.invitations' has no attribute {name!r}")
