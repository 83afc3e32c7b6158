"""Text as the API accepts it: no control or format characters (Unicode Cc and Cf:
NUL, line breaks, bidi overrides, zero-width marks) in any string of a JSON body or a
query, and every string in NFC, so that "the same" name is one string. A NUL reaches
PostgreSQL as an error carrying the statement's parameters; a bidi override shows an
operator another amount or account than the one stored."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import parse_qsl

_REFUSED = frozenset(("Cc", "Cf"))


class TextRefused(ValueError):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _clean(text: str, where: str) -> str:
    if not text.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        if any(unicodedata.category(c) in _REFUSED for c in text):
            raise TextRefused(where)
        return unicodedata.normalize("NFC", text)
    return text


def _walk(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _clean(value, where)
    if isinstance(value, list):
        return [_walk(v, f"{where}[{n}]") for n, v in enumerate(value)]
    if isinstance(value, dict):
        return {_clean(k, where): _walk(v, f"{where}.{k}") for k, v in value.items()}
    return value


def clean_json(body: bytes) -> bytes:
    """The body with its strings in NFC (the same bytes when nothing changed); raises
    ``TextRefused`` naming the first field holding a refused character. A body that
    is not JSON is left for the route to refuse."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    cleaned = _walk(data, "body")
    if cleaned == data:
        return body
    return json.dumps(cleaned, ensure_ascii=False).encode()


def check_query(query: bytes) -> None:
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        _clean(key, "query")
        _clean(value, f"query.{key}")
