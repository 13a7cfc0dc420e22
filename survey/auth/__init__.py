"""Staff sign-in, roles and who may see what; patients never sign in."""
