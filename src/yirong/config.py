"""Settings from the environment (``YIRONG_*``), with defaults a first run needs."""

from __future__ import annotations

import functools
import os
import secrets
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "YIRONG_"
DEFAULT_DATABASE_URL = "sqlite:///yirong.db"
# The key a first run works with. Anyone with the source has it: serving refuses it.
BUILT_IN_SECRET_KEY = "yirong-development-secret-change-me"
MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    # sqlite:///path.db (the embedded default) or postgresql+psycopg://user@host/db
    database_url: str = DEFAULT_DATABASE_URL
    # FULL survives power loss after every acknowledged commit; NORMAL is faster but
    # may lose the last commits, so it is opt-in.
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL", "OFF"] = "FULL"
    # Keys the platform's pseudonymous tokens (HMAC): set your own in production, and
    # keep it; changing it gives every agent new tokens at every funder. Left out of
    # the settings' repr, so a logged or printed Settings never shows it.
    secret_key: str = Field(default=BUILT_IN_SECRET_KEY, repr=False)
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR
    # ranges, such as "10.0.0.0/8, 127.0.0.1"). Empty: the socket's peer is the client.
    trusted_proxies: str = ""
    # Development only: funders' endpoints may be plain http on this machine (loopback).
    # Off, the platform calls https to public addresses only (infra/outbound.py).
    allow_loopback_endpoints: bool = False
    # How long a funder system's API key works unless issued for less.
    api_key_days: Annotated[int, Field(ge=1, le=366)] = 90


def settings() -> Settings:
    """The settings as the environment has them now. Building them reads and checks
    every field (about a millisecond), and some are read on every request (the secret
    key): they are built again only when a ``YIRONG_*`` variable changed."""
    return _settings_for(
        tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))
    )


@functools.lru_cache(maxsize=8)
def _settings_for(_environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


def unsafe_secret_key(key: str) -> str | None:
    """Why ``key`` must not key a running service (the built-in one, or too short to
    resist guessing), or None."""
    if key == BUILT_IN_SECRET_KEY:
        return "the built-in key, which anyone with the source has"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def new_secret_key() -> str:
    """A random key for one installation (a demo's database, say)."""
    return secrets.token_urlsafe(48)
