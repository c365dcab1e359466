"""Phone numbers in E.164 with ``phonenumbers``.

Tenants store no country, so the default region of a local number (one without ``+``) is
the country of the business's time zone (``America/Sao_Paulo`` → BR, ``Europe/Lisbon`` →
PT, from CLDR via Babel). Zones without a single country (``UTC``, ``Etc/…``) have no
default region: their customers must type the number with ``+`` and the country code."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from babel.core import get_global

INVALID_PHONE = "Enter a valid phone number, with the country code (e.g. +55 11 98765-4321)."


@lru_cache(maxsize=1024)
def phone_region(timezone: str) -> str | None:
    """The two-letter region of a time zone, or None when it has no single country."""
    territory = get_global("zone_territories").get(timezone)
    if not isinstance(territory, str) or territory not in phonenumbers.SUPPORTED_REGIONS:
        return None  # e.g. "ZZ" for Etc/GMT+3
    return territory


def normalize_phone(raw: str, region: str | None) -> str:
    """``raw`` as E.164; ``ValueError(INVALID_PHONE)`` when it is not a valid number."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(INVALID_PHONE) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(INVALID_PHONE)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
