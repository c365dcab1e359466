"""Live updates: the database's change feed, one listener per process, server-sent events."""
