"""Alembic migrations, written as explicit SQL (RLS, exclusion constraints, functions)."""
