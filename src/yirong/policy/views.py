"""Routes: the platform's rules (the legal APR cap, the consent text's version...), read
by anyone signed in and set by operators from a business date on."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from yirong.api.routing import api_router
from yirong.api.security import DB, Anyone, Operator
from yirong.policy.service import RULES, current_settings, set_setting

router = api_router("policy")


class SettingView(BaseModel):
    key: str
    value: str
    about: str


class NewValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=100)
    effective_from: date = Field(description="A business date, today's or later")


@router.get("/policy/settings", response_model=list[SettingView], summary="The rules in force")
def settings(_who: Anyone, db: DB) -> list[SettingView]:
    return [
        SettingView(key=k, value=v, about=RULES[k].about) for k, v in current_settings(db).items()
    ]


@router.put(
    "/policy/settings/{key}",
    response_model=list[SettingView],
    summary="Set a rule from a business date on (the past is never rewritten)",
)
def set_rule(key: str, data: NewValue, who: Operator, db: DB) -> list[SettingView]:
    set_setting(db, key, data.value, effective_from=data.effective_from, set_by=who.handle)
    return settings(who, db)
