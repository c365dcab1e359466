"""Turn a database refusal (constraint, bad value) into the problem a client understands.

The schemas validate first; these are the backstop, so a request that slips past them
still gets a 4xx with a stable code, never a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from slotwise.db.database import sqlstate_of
from slotwise.errors import AppError, Conflict, ValidationFailed

UNIQUE = "23505"
FOREIGN_KEY = "23503"
CHECK = "23514"
EXCLUSION = "23P01"
NOT_NULL = "23502"


def constraint_of(exc: BaseException) -> str | None:
    """The violated constraint's name, as PostgreSQL reports it."""
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None), exc):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def is_refusal(exc: BaseException) -> bool:
    """A definite refusal of this statement (integrity or data error), not a failure."""
    state = sqlstate_of(exc)
    return isinstance(exc, DBAPIError) and state is not None and state[:2] in ("23", "22")


def problem_for(
    exc: BaseException, by_constraint: Mapping[str, Callable[[], AppError]] | None = None
) -> AppError:
    """The problem for a refusal: the named constraint's if mapped, else a generic one."""
    name = constraint_of(exc)
    if by_constraint and name is not None and name in by_constraint:
        return by_constraint[name]()
    state = sqlstate_of(exc) or ""
    if state in (UNIQUE, EXCLUSION):
        return Conflict()
    return ValidationFailed()


@contextmanager
def refusals(
    by_constraint: Mapping[str, Callable[[], AppError]] | None = None,
) -> Iterator[None]:
    """Around the statements of a write: a database refusal inside the block becomes the
    matching problem (``problem_for``); any other failure goes on unchanged."""
    try:
        yield
    except DBAPIError as exc:
        if is_refusal(exc):
            raise problem_for(exc, by_constraint) from exc
        raise
