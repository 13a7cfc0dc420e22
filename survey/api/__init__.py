"""The JSON API at ``/api/v1``: bearer tokens tied to staff accounts, the dashboard's role rules."""
