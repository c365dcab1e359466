"""Database access: the embedded server, URLs, the one tenant-scoped transaction helper."""
