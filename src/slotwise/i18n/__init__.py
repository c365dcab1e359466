"""Translations of customer-facing sentences (English source, Brazilian Portuguese).

Catalogs are gettext ``.po`` files under ``locales/<locale>/LC_MESSAGES/messages.po``, read
with Babel at start-up (no compiled ``.mo`` files to keep in step)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

SUPPORTED_LOCALES = ("en", "pt_BR")
DEFAULT_LOCALE = "en"
_LOCALES_DIR = Path(__file__).parent / "locales"


@lru_cache(maxsize=8)
def catalog(locale: str) -> Mapping[str, str]:
    path = _LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in po
        if message.id and isinstance(message.string, str) and message.string
    }


def gettext(message: str, locale: str, **params: Any) -> str:
    text = catalog(locale).get(message, message) if locale != DEFAULT_LOCALE else message
    return text.format(**params) if params else text


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """Pick a supported locale: an explicit choice first, then Accept-Language by q."""
    if preferred in SUPPORTED_LOCALES:
        return preferred
    if not accept_language:
        return DEFAULT_LOCALE
    choices: list[tuple[float, str]] = []
    for part in accept_language.split(",")[:20]:
        piece = part.strip()
        if not piece:
            continue
        tag, _, q = piece.partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        choices.append((weight, tag.strip().lower()))
    for _weight, tag in sorted(choices, key=lambda c: -c[0]):
        if tag.startswith("pt"):
            return "pt_BR"
        if tag.startswith("en") or tag == "*":
            return "en"
    return DEFAULT_LOCALE
