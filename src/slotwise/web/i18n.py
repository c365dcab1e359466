"""Page texts and formats for one request's locale.

Every sentence a page shows goes through ``_()`` — the shared gettext catalog
(``slotwise.i18n``), English source with pt_BR translations — and every price, date and time
through Babel with the tenant's currency and the business's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, get_timezone_location
from babel.numbers import format_currency, get_currency_precision

from slotwise.i18n import SUPPORTED_LOCALES, gettext

LANGUAGE_NAMES = {"en": "English", "pt_BR": "Português (Brasil)"}
MARKED: set[str] = set()
"""Every sentence marked with ``N_`` (a test checks each has a pt_BR translation)."""


def N_(message: str) -> str:
    """Mark a sentence for translation where it is defined; ``_()`` translates it when shown."""
    MARKED.add(message)
    return message


@dataclass(frozen=True, slots=True)
class Translator:
    """``_`` in templates: translate, then fill ``{named}`` placeholders."""

    locale: str

    def __call__(self, message: str, **params: Any) -> str:
        return gettext(message, self.locale, **params)

    @property
    def html_lang(self) -> str:
        return self.locale.replace("_", "-")


@dataclass(frozen=True, slots=True)
class Formats:
    """``fmt`` in templates: locale-aware numbers, dates and times in one time zone."""

    locale: str
    zone: tzinfo

    def money(self, minor: int, currency: str) -> str:
        """Integer minor units (cents) as the currency's amount, e.g. ``R$ 60,00``."""
        amount = Decimal(minor).scaleb(-get_currency_precision(currency))
        return str(format_currency(amount, currency, locale=self.locale))

    def day(self, value: date, width: str = "full") -> str:
        return str(format_date(value, format=width, locale=self.locale))

    def day_pattern(self, value: date, pattern: str) -> str:
        """A date with a CLDR pattern (``EEE`` weekday, ``d`` day, ``MMM`` month...)."""
        return str(format_date(value, pattern, locale=self.locale))

    def time(self, value: dt.datetime) -> str:
        """Wall-clock time in the business's zone, e.g. ``14:30`` or ``2:30 PM``."""
        return str(format_time(value.astimezone(self.zone), format="short", locale=self.locale))

    def datetime(self, value: dt.datetime) -> str:
        local = value.astimezone(self.zone)
        return f"{self.day(local.date(), 'full')} {self.time(local)}"

    def zone_name(self) -> str:
        """The zone as people say it, e.g. ``Brazil (São Paulo) Time``."""
        return str(get_timezone_location(self.zone, locale=self.locale))

    def utc_offset(self, at: dt.datetime) -> str:
        return str(format_datetime(at.astimezone(self.zone), "ZZZZ", locale=self.locale))


def formats(locale: str, timezone: str) -> Formats:
    return Formats(locale, ZoneInfo(timezone))


def language_choices(current: str) -> list[tuple[str, str, bool]]:
    """(code, name in its own language, is current) for the language switch."""
    return [(code, LANGUAGE_NAMES[code], code == current) for code in SUPPORTED_LOCALES]
