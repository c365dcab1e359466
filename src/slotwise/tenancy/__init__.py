"""Tenants (businesses): the slug → tenant lookup used by every public path."""
