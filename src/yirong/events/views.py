"""Routes of events (filled in below)."""

from __future__ import annotations

from yirong.api.routing import api_router

router = api_router("events")
