"""Every sentence the booking domain and the request hardening can show a customer has its
Brazilian Portuguese translation."""

from __future__ import annotations

from slotwise.booking import idempotency, schemas, service
from slotwise.core import hardening
from slotwise.i18n import catalog

SENTENCES = [
    schemas.OUT_OF_RANGE,
    schemas.WHOLE_MINUTES,
    schemas.ONE_CUSTOMER,
    schemas.NO_CHANGES,
    service.NO_SUCH_CUSTOMER,
    service.NO_SUCH_PROFESSIONAL,
    service.NO_SUCH_SERVICE,
    service.INVALID_CURSOR,
    service.INVALID_BOUND,
    service.RANGE_REVERSED,
    idempotency.INVALID_KEY,
    hardening.INVALID_UTF8,
    hardening.INVALID_JSON,
    hardening.TOO_DEEP,
    hardening.NUMBER_TOO_LONG,
    hardening.NUL_CHARACTER,
    hardening.LONE_SURROGATE,
]


def test_every_sentence_has_a_portuguese_translation() -> None:
    translations = catalog("pt_BR")
    missing = [s for s in SENTENCES if not translations.get(s)]
    assert missing == []
