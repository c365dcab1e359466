"""Every sentence the pages show has a Brazilian Portuguese translation: the ``_()`` calls of
the templates and the sentences the web code marks with ``N_``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from jinja2.ext import babel_extract

import slotwise.web
from slotwise.i18n import catalog
from slotwise.web.i18n import MARKED
from slotwise.web.rendering import TEMPLATES


def template_messages() -> set[str]:
    found: set[str] = set()
    for path in sorted(TEMPLATES.rglob("*.html")):
        with path.open("rb") as handle:
            for _line, _function, message, _comments in babel_extract(
                handle, ("_",), [], {"trim_blocks": "true", "lstrip_blocks": "true"}
            ):
                text = message[0] if isinstance(message, tuple) else message
                if isinstance(text, str):
                    found.add(text)
    return found


def marked_messages() -> set[str]:
    for module in pkgutil.iter_modules(slotwise.web.__path__):
        importlib.import_module(f"slotwise.web.{module.name}")
    return set(MARKED)


def test_every_page_text_has_a_pt_br_translation() -> None:
    messages = template_messages() | marked_messages()
    assert len(messages) > 100
    missing = sorted(m for m in messages if m not in catalog("pt_BR"))
    assert missing == []


def test_templates_never_mark_anything_safe() -> None:
    for path in Path(TEMPLATES).rglob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", ""), path
        assert "autoescape false" not in text, path
