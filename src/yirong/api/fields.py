"""Field types every request model shares, so a fen is described the same everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from yirong.money import MAX_AMOUNT_FEN

Fen = Annotated[
    int, Field(strict=True, gt=0, le=MAX_AMOUNT_FEN, description="Amount in fen (分), an integer")
]
