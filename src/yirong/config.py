"""Settings from the environment (``YIRONG_*``), with defaults a first run needs."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///yirong.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIRONG_", extra="ignore")

    # sqlite:///path.db (the embedded default) or postgresql+psycopg://user@host/db
    database_url: str = DEFAULT_DATABASE_URL
    # FULL survives power loss after every acknowledged commit; NORMAL is faster but
    # may lose the last commits, so it is opt-in.
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL", "OFF"] = "FULL"
    # Keys the platform's pseudonymous tokens (HMAC): set your own in production, and
    # keep it; changing it gives every agent new tokens at every funder.
    secret_key: str = "yirong-development-secret-change-me"


def settings() -> Settings:
    return Settings()
