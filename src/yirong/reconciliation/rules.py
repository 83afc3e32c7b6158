"""The matching rules as the operator set them (``match_rules``), over the defaults."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.reconciliation.model import DEFAULT_RULES, Rule
from yirong.reconciliation.tables import MatchRule

DEFAULTS = {rule.name: rule for rule in DEFAULT_RULES}


def rules_in(tx: Tx) -> dict[str, Rule]:
    found = dict(DEFAULTS)
    for row in tx.conn.execute(_RULES):
        if row.name in found:
            found[row.name] = Rule(*row)
    return found


# Built once, read as rows (every statement upload reads the rules).
_RULES = select(
    MatchRule.name,
    MatchRule.enabled,
    MatchRule.auto,
    MatchRule.amount_tolerance_fen,
    MatchRule.days_before,
    MatchRule.days_after,
)


@read_only
def match_rules(tx: Tx) -> list[Rule]:
    return list(rules_in(tx).values())


@transactional
def set_rule(
    tx: Tx,
    name: str,
    *,
    enabled: bool | None = None,
    auto: bool | None = None,
    amount_tolerance: int | None = None,
    days_before: int | None = None,
    days_after: int | None = None,
) -> Rule:
    """Change one rule's settings; what is not given stays as it is."""
    current = rules_in(tx).get(name)
    if current is None:
        raise YirongError("match_rule_not_found", rule=name, rules=sorted(DEFAULTS))
    for value in (amount_tolerance, days_before, days_after):
        if value is not None and not 0 <= value <= 10**9:
            raise YirongError("match_rule_invalid", rule=name)
    changed = replace(
        current,
        enabled=current.enabled if enabled is None else enabled,
        auto=current.auto if auto is None else auto,
        amount_tolerance=current.amount_tolerance if amount_tolerance is None else amount_tolerance,
        days_before=current.days_before if days_before is None else days_before,
        days_after=current.days_after if days_after is None else days_after,
    )
    row = tx.session.get(MatchRule, name)
    if row is None:
        row = MatchRule(name=name)
        tx.session.add(row)
    row.enabled, row.auto = changed.enabled, changed.auto
    row.amount_tolerance_fen = changed.amount_tolerance
    row.days_before, row.days_after = changed.days_before, changed.days_after
    return changed
