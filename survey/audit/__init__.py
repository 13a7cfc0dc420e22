"""The audit trail: a hash chain over the audit log, its verification, and the admin's view."""
