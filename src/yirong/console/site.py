"""The console as the app mounts it: its pages' routers and its static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from yirong.console import (
    agent_admin_pages,
    credit_pages,
    funder_admin_pages,
    funder_pages,
    money_pages,
    operator_pages,
    routes,
    wallet_pages,
)

ASSETS = Path(__file__).parent / "static"  # served at /static/console
ROUTERS: tuple[APIRouter, ...] = (
    routes.router,
    wallet_pages.router,
    credit_pages.router,
    money_pages.router,
    funder_pages.router,
    operator_pages.router,
    agent_admin_pages.router,
    funder_admin_pages.router,
)
