"""Invitations: links to the forms, created one dyad wave at a time or from an appointment list,
listed, revoked, extended and reissued (service), from the browser (views) and the CLI
(commands)."""

from survey.invitations.service import (
    DEFAULT_EXPIRES_DAYS,
    DYAD_FORMS,
    DyadWaveLinks,
    InvitationError,
    SelfAssessmentLink,
    absolute_url,
    extend,
    find_invitation,
    hash_token,
    invite_dyad,
    invite_self_assessment,
    new_token,
    reissue,
    revoke,
    state_of,
    survey_path,
    survey_url,
)

__all__ = [
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
]
