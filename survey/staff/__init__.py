"""Staff administration in the browser and on the command line: clinics, clinicians, staff
accounts (set-up links, roles, deactivation), one's own password and a forgotten one."""
