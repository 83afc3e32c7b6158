"""CSV exports a finance person opens in Excel: UTF-8 with a byte-order mark (so Excel
reads the Chinese right), one header row in the reader's language, yuan as plain
numbers with two decimals (never "¥1,234.56", which Excel keeps as text). Rows are
streamed as the pages of the query come, so a year's export holds no year in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from fastapi.responses import StreamingResponse

BOM = "\ufeff"


def yuan_number(fen: int) -> str:
    """Fen as a number of yuan Excel reads as one: 123456 -> 1234.56."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingResponse:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
