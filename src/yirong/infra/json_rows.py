"""Many rows as one parameter: a JSON array of arrays read as a table on either
database, so a bulk insert is one statement instead of one per row."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from yirong.infra.db import Dialect

# column name -> SQL type (bigint, int, text, date, boolean)
Columns = Sequence[tuple[str, str]]


def json_table(dialect: Dialect, param: str, columns: Columns) -> str:
    """A derived table ``x`` with these columns, read from the JSON parameter ``param``."""
    if dialect is Dialect.POSTGRESQL:
        fields = ", ".join(f"(v->>{n})::{kind} AS {name}" for n, (name, kind) in enumerate(columns))
        return f"(SELECT {fields} FROM json_array_elements(CAST(:{param} AS json)) v) x"
    fields = ", ".join(
        f"json_extract(v.value, '$[{n}]') AS {name}" for n, (name, _) in enumerate(columns)
    )
    return f"(SELECT {fields} FROM json_each(:{param}) v) x"


def encode(rows: Iterable[Sequence[Any]]) -> str:
    return json.dumps(
        [[v.isoformat() if isinstance(v, date) else v for v in row] for row in rows],
        ensure_ascii=False,
    )
