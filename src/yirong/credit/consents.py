"""Consent (PIPL Arts. 14, 23, 29): recorded before any data leaves, covering which
data, to whom, for what and until when; withdrawable; every sharing logged under it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select, text

from yirong.agents.service import agent_row
from yirong.books.service import business_date_of
from yirong.credit.tables import Consent
from yirong.errors import YirongError
from yirong.features.service import FEATURE_NAMES
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.json_rows import encode, json_table
from yirong.policy.service import setting


class Purpose(StrEnum):
    PREAPPROVAL = "preapproval"  # pseudonymous features, to every funder on the platform
    CREDIT_APPLICATION = "credit_application"  # identified data, to one funder


# What a funder receives for a formal application: the firm's identity and its features.
APPLICATION_FIELDS = (
    "name",
    "uscc",
    "legal_rep_name",
    "legal_rep_id",
    "mobile",
    "bank_card",
    "features",
)
PREAPPROVAL_FIELDS = FEATURE_NAMES


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """What the agent agreed to, as shown to it."""

    fields: tuple[str, ...]
    valid_until: date
    text_version: str
    purpose: Purpose = Purpose.CREDIT_APPLICATION


@dataclass(frozen=True, slots=True)
class ConsentView:
    id: int
    funder_code: str | None  # None: every funder (a pre-approval opt-in)
    purpose: str
    fields: tuple[str, ...]
    text_version: str
    given_on: date
    valid_until: date
    withdrawn_on: date | None


def view(tx: Tx, c: Consent) -> ConsentView:
    funder = None
    if c.funder_id is not None:
        funder = tx.session.scalar(select(Funder.code).where(Funder.id == c.funder_id))
    return ConsentView(
        c.id,
        funder,
        c.purpose,
        tuple(c.fields.split(",")),
        c.text_version,
        c.given_on,
        c.valid_until,
        c.withdrawn_on,
    )


def is_valid(consent: Consent, on: date) -> bool:
    return consent.withdrawn_on is None and consent.given_on <= on <= consent.valid_until


@transactional
def opt_in_preapproval(tx: Tx, agent_code: str, *, text_version: str) -> ConsentView:
    """The agent agrees that funders may see its pseudonymous features and make
    offers. Agreeing again while a consent is valid changes nothing."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    current = setting(tx, "consent_text_version")
    if text_version != current:
        raise YirongError("consent_invalid", reason=f"the current consent text is {current}")
    existing = _valid_preapproval(tx, agent.id, today)
    if existing is not None:
        return view(tx, existing)
    days = int(setting(tx, "preapproval_consent_days"))
    consent = Consent(
        agent_id=agent.id,
        funder_id=None,
        purpose=Purpose.PREAPPROVAL.value,
        fields=",".join(PREAPPROVAL_FIELDS),
        text_version=text_version,
        given_on=today,
        valid_until=today + timedelta(days=days),
    )
    tx.session.add(consent)
    tx.session.flush()
    return view(tx, consent)


def _valid_preapproval(tx: Tx, agent_id: int, today: date) -> Consent | None:
    return tx.session.scalars(
        select(Consent).where(
            Consent.agent_id == agent_id,
            Consent.purpose == Purpose.PREAPPROVAL.value,
            Consent.withdrawn_on.is_(None),
            Consent.valid_until >= today,
        )
    ).first()


@transactional
def withdraw_consent(tx: Tx, agent_code: str, consent_id: int) -> ConsentView:
    """From now on nothing more is shared under this consent."""
    agent = agent_row(tx, agent_code)
    consent = tx.session.get(Consent, consent_id)
    if consent is None or consent.agent_id != agent.id:
        raise YirongError("consent_not_found", consent=consent_id)
    if consent.withdrawn_on is None:
        consent.withdrawn_on = business_date_of(tx)
        tx.session.flush()
    return view(tx, consent)


@read_only
def consents_of(tx: Tx, agent_code: str) -> list[ConsentView]:
    agent = agent_row(tx, agent_code)
    return [
        view(tx, c)
        for c in tx.session.scalars(
            select(Consent).where(Consent.agent_id == agent.id).order_by(Consent.id)
        )
    ]


def check_terms(tx: Tx, terms: ConsentTerms | None, today: date) -> ConsentTerms:
    """Consent to a formal application must be explicit, current and cover the data."""
    if terms is None:
        raise YirongError("consent_required")
    current = setting(tx, "consent_text_version")
    problems = []
    if terms.purpose is not Purpose.CREDIT_APPLICATION:
        problems.append("purpose must be credit_application")
    if missing := sorted(set(APPLICATION_FIELDS) - set(terms.fields)):
        problems.append(f"missing fields: {', '.join(missing)}")
    if terms.text_version != current:
        problems.append(f"the current consent text is {current}")
    if terms.valid_until < today:
        problems.append("valid_until is in the past")
    if problems:
        raise YirongError("consent_invalid", problems=problems)
    return terms


SHARE_COLUMNS = (
    ("consent_id", "bigint"),
    ("agent_id", "bigint"),
    ("funder_id", "bigint"),
    ("fields", "text"),
    ("identified", "boolean"),
    ("reference", "text"),
    ("shared_on", "date"),
)


def record_shares(tx: Tx, shares: Sequence[dict[str, object]]) -> None:
    """Log sharings (consent_id, agent_id, funder_id, fields, identified, reference,
    shared_on): one statement per few thousand, so a pre-approval run of 100,000
    agents is a handful of statements."""
    names = [name for name, _ in SHARE_COLUMNS]
    statement = text(
        f"INSERT INTO data_shares ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM {json_table(tx.dialect, 'rows', SHARE_COLUMNS)}"
    )
    for start in range(0, len(shares), 5_000):
        chunk = shares[start : start + 5_000]
        tx.conn.execute(statement, {"rows": encode([s[n] for n in names] for s in chunk)})
