"""Keeping the data: backups and restores, and deleting or de-identifying what is past its
clinic's retention period."""


class OperationError(Exception):
    """A backup, restore or retention request that cannot be carried out; the message says why
    and what to do, in one line."""
