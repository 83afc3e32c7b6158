"""Sign-ins for the demo's data, one per role and a few more, printed when the demo
ends so a newcomer can try the API at once. The passwords are the demo's, printed on
purpose: a demo database holds nobody's real data."""

from __future__ import annotations

from dataclasses import dataclass

from yirong.access.service import create_user, issue_api_key
from yirong.credit.applications import lines
from yirong.credit.queries import agents_to_apply
from yirong.demo.lending import FUNDER_CODES
from yirong.demo.orders import FINANCIER, ORDER_PRODUCT
from yirong.infra.db import Database
from yirong.loans.standing import agent_standing


@dataclass(frozen=True, slots=True)
class SignIn:
    role: str
    acts_for: str
    username: str | None
    secret: str  # a password, or a funder system's API key
    note: str
    signing_secret: str | None = None  # a funder system's: signs its money-moving calls


def create_signins(db: Database) -> list[SignIn]:
    made = [_person(db, "operator", "operator", "operator", "sees everything; audited")]
    active = lines(db, status="active")
    borrowers = [line.agent_code for line in active if line.product_code != ORDER_PRODUCT.code]
    ordering = [line.agent_code for line in active if line.product_code == ORDER_PRODUCT.code]
    overdue = next((a for a in borrowers if _is_overdue(db, a)), None)
    picked = [borrowers[0]] if borrowers else []
    if overdue is not None and overdue not in picked:
        picked.append(overdue)
    for code in picked:
        note = "has an overdue loan; wallet frozen" if code == overdue else "has a credit line"
        made.append(_person(db, f"agent-{code.lower()}", "agent", code, note))
    if ordering and ordering[0] not in picked:
        picked.append(ordering[0])
        note = "finances a purchase order (订单融资)"
        made.append(_person(db, f"agent-{ordering[0].lower()}", "agent", ordering[0], note))
    for code in agents_to_apply(db):
        if code in picked:  # it has a line, and offers of the other family
            continue
        note = "has offers and no line yet: apply in the console"
        made.append(_person(db, f"agent-{code.lower()}", "agent", code, note))
    if ordering:
        code = FINANCIER.code
        made.append(_person(db, f"funder-{code.lower()}", "funder", code, "the order financier"))
    for code in FUNDER_CODES:
        made.append(_person(db, f"funder-{code.lower()}", "funder", code, "the funder's staff"))
        key = issue_api_key(db, code, "demo system")
        made.append(
            SignIn("funder", code, None, key.key, "the funder's system", key.signing_secret)
        )
    return made


def _person(db: Database, username: str, role: str, subject: str, note: str) -> SignIn:
    password = f"demo-{username}-password"
    create_user(db, username, password, role, subject)
    return SignIn(role, subject, username, password, note)


def _is_overdue(db: Database, agent_code: str) -> bool:
    return agent_standing(db, agent_code).days_past_due > 0
