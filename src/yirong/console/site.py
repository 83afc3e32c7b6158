"""The console as the app mounts it: its pages' routers, its static assets, and what
its pages keep while the app runs (the end of day's runs)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from yirong.console import (
    agent_admin_pages,
    audit_pages,
    credit_pages,
    day_close,
    exception_pages,
    freeze_pages,
    funder_admin_pages,
    funder_book_pages,
    funder_order_pages,
    funder_pages,
    funder_system_pages,
    money_pages,
    operator_pages,
    order_pages,
    routes,
    statement_pages,
    supplier_pages,
    wallet_pages,
)

ASSETS = Path(__file__).parent / "static"  # served at /static/console
ROUTERS: tuple[APIRouter, ...] = (
    routes.router,
    wallet_pages.router,
    credit_pages.router,
    money_pages.router,
    funder_pages.router,
    funder_book_pages.router,
    statement_pages.router,
    operator_pages.router,
    exception_pages.router,
    freeze_pages.router,
    audit_pages.router,
    agent_admin_pages.router,
    funder_admin_pages.router,
    funder_system_pages.router,
    order_pages.router,
    funder_order_pages.router,
    supplier_pages.router,
)


def install(app: FastAPI) -> None:
    app.mount("/static/console", StaticFiles(directory=ASSETS), name="console-assets")
    for pages in ROUTERS:
        app.include_router(pages)
    app.state.day_close = day_close.DayClose()  # this app's: one run at a time
