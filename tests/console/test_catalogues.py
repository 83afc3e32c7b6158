"""No string hard-coded in a template, and every message translated: the templates'
text is all gettext calls, and the Chinese and English catalogues answer every
message the code and templates use (extracted again here, as `make messages` does)."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

CONSOLE = Path(__file__).resolve().parents[2] / "src" / "yirong" / "console"
KEYWORDS = {"_": None, "tr": (2,), "N_": None}


def _used() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(CONSOLE), method_map, options, keywords=KEYWORDS
        )
    }


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_message_is_translated(language: str) -> None:
    path = CONSOLE / "locale" / language / "LC_MESSAGES" / "messages.po"
    catalog = read_po(BytesIO(path.read_bytes()), locale=language)
    translated = {m.id: m.string for m in catalog if m.id}
    used = _used()
    assert len(used) > 30  # the extraction sees the console (else this test is vacuous)
    assert sorted(used - set(translated)) == []
    assert sorted(m for m in used if not translated[m]) == []
    # A guessed translation (pybabel's "fuzzy") is not one.
    assert sorted(m.id for m in catalog if m.id and m.fuzzy) == []


@pytest.mark.parametrize("template", sorted((CONSOLE / "templates").glob("*.html")))
def test_templates_hold_no_words_of_their_own(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.S)  # comments too
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    words = re.findall(r"[A-Za-z\u4e00-\u9fff]{2,}", text)
    assert words == [], words


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_translation_formats_as_its_message_does(language: str) -> None:
    """A page formats every message with its named values (Jinja's newstyle gettext):
    a translation must name the same values, and a lone % would break the page."""
    path = CONSOLE / "locale" / language / "LC_MESSAGES" / "messages.po"
    catalog = read_po(BytesIO(path.read_bytes()), locale=language)
    named = re.compile(r"%\((\w+)\)s")
    wrong = []
    for m in catalog:
        if not m.id or not isinstance(m.id, str):
            continue
        if sorted(named.findall(m.id)) != sorted(named.findall(m.string)):
            wrong.append(m.id)
        for text in (m.id, m.string):
            if "%" in named.sub("", text).replace("%%", ""):
                wrong.append(text)
    assert wrong == []
