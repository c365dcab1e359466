"""Input field types shared by the staff API schemas.

Every text a client sends is NFC-normalized and trimmed, and refused when it holds control
characters (PostgreSQL cannot store NUL; the others only hide things from people reading
the dashboard). Messages are sentences with pt_BR translations in the message catalog."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, ClassVar

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

CONTROL_CHARACTERS = "Control characters are not allowed."
INVALID_EMAIL = "Enter a valid email address."
INVALID_TIMEZONE = "Use a time zone name such as America/New_York."
_MULTILINE_ALLOWED = frozenset("\n\r\t")
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


def _refuse_controls(value: str, allowed: frozenset[str]) -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in allowed:
            raise ValueError(CONTROL_CHARACTERS)
    return value


def clean_line(value: Any) -> Any:
    """One line of text: NFC, trimmed, no control characters (non-strings pass through so
    the type check names them)."""
    if not isinstance(value, str):
        return value
    return _refuse_controls(unicodedata.normalize("NFC", value).strip(), frozenset())


def clean_multiline(value: Any) -> Any:
    """Free text (notes, descriptions): like ``clean_line`` but line breaks and tabs stay."""
    if not isinstance(value, str):
        return value
    return _refuse_controls(unicodedata.normalize("NFC", value).strip(), _MULTILINE_ALLOWED)


def clean_secret(value: Any) -> Any:
    """Passwords: NFC-normalized (the same password typed on two keyboards matches) but not
    trimmed, since spaces may be part of it."""
    if not isinstance(value, str):
        return value
    return _refuse_controls(unicodedata.normalize("NFC", value), frozenset())


def normalize_email(value: Any) -> Any:
    """A syntactically valid address (no DNS lookups), lowercased as the schema requires."""
    if not isinstance(value, str):
        return value
    value = clean_line(value)
    if not value or len(value) > 254:
        raise ValueError(INVALID_EMAIL)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(INVALID_EMAIL) from exc
    return str(result.normalized).lower()


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def check_timezone(value: str) -> str:
    if value not in known_timezones():
        raise ValueError(INVALID_TIMEZONE)
    return value


def refuse_bool(value: Any) -> Any:
    """JSON ``true`` is not the number 1: a boolean where a number belongs is refused."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def refuse_number(value: Any) -> Any:
    """JSON ``0``/``1`` are not booleans (form posts still send ``"on"``/``"true"``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a valid boolean")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def require_iso_date(value: Any) -> Any:
    """Dates are ``YYYY-MM-DD``; pydantic would also read ``0`` as 1970-01-01."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise PydanticCustomError("date_format", "Use a date like 2026-12-31.")
    if isinstance(value, int | float):
        raise PydanticCustomError("date_format", "Use a date like 2026-12-31.")
    return value


def require_iso_instant(value: Any) -> Any:
    """Instants are ISO 8601 with an offset; pydantic would also read ``0.5`` as a timestamp."""
    if isinstance(value, str) and not _ISO_INSTANT.match(value):
        raise PydanticCustomError(
            "datetime_format", "Use a date and time like 2026-12-31T09:00:00-03:00."
        )
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "datetime_format", "Use a date and time like 2026-12-31T09:00:00-03:00."
        )
    return value


IsoDate = Annotated[date, BeforeValidator(require_iso_date)]
IsoInstant = Annotated[AwareDatetime, BeforeValidator(require_iso_instant)]
Int = Annotated[int, BeforeValidator(refuse_bool)]
Bool = Annotated[bool, BeforeValidator(refuse_number)]


Name = Annotated[str, BeforeValidator(clean_line), StringConstraints(min_length=1, max_length=120)]
Label = Annotated[str, BeforeValidator(clean_line), StringConstraints(max_length=120)]
Reason = Annotated[str, BeforeValidator(clean_multiline), StringConstraints(max_length=500)]
LongText = Annotated[str, BeforeValidator(clean_multiline), StringConstraints(max_length=2000)]
Email = Annotated[
    str,
    BeforeValidator(normalize_email),
    Field(json_schema_extra={"format": "email", "maxLength": 254}),
]
Password = Annotated[
    str, BeforeValidator(clean_secret), StringConstraints(min_length=10, max_length=256)
]
Timezone = Annotated[
    str,
    BeforeValidator(clean_line),
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(check_timezone),
    Field(description="An IANA time zone name", examples=["America/Sao_Paulo"]),
]
Currency = Annotated[str, BeforeValidator(clean_line), StringConstraints(pattern=r"^[A-Z]{3}$")]


NOT_NULL = "This value cannot be null."


def field_error(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """A validation error at ``loc`` (relative to the model validating), for checks that
    look at several fields or list items but must name the one at fault."""
    return ValidationError.from_exception_data(
        "input",
        [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)],
    )


class PatchModel(BaseModel):
    """A partial update: omitted fields stay as they are; ``null`` is refused except for the
    fields named in ``NULLABLE`` (where it clears the value)."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(NOT_NULL)
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their (validated) values."""
        return {name: getattr(self, name) for name in self.model_fields_set}
