"""Personal data as shown to someone who may not see it in full (and in every log)."""

from __future__ import annotations


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def name(value: str) -> str:
    """张三丰 -> 张**; a company keeps its first two and last two characters."""
    if len(value) <= 4:
        return value[:1] + "*" * (len(value) - 1)
    return _keep(value, 2, 2)


def resident_id(value: str) -> str:
    return _keep(value, 4, 4)


def uscc(value: str) -> str:
    return _keep(value, 4, 4)


def mobile(value: str) -> str:
    """+8613800138000 -> +86138****8000."""
    return _keep(value, len(value) - 8, 4)


def bank_card(value: str) -> str:
    return _keep(value, 4, 4)
