"""Consent, formal applications, funder decisions, lines, and one funder at a time."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.credit.market import TODAY, Market, advance_to, build_market, consent
from yirong.agents.service import Viewer, get_agent
from yirong.credit.applications import (
    applicant_data,
    apply_for_credit,
    approve_application,
    current_credit,
    reject_application,
    withdraw_application,
)
from yirong.credit.consents import APPLICATION_FIELDS, ConsentTerms, withdraw_consent
from yirong.credit.offers import OfferView, compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.credit.queries import agents_to_apply
from yirong.credit.tables import Consent, CreditApplication, DataShare
from yirong.errors import YirongError
from yirong.loans.lines import close_line
from yirong.roles import Role


def offers(market: Market, n: int) -> dict[str, OfferView]:
    return {o.funder_code: o for o in compare_offers(market.db, market.code(n))}


def refused(code: str, call) -> YirongError:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        call()
    assert caught.value.code == code
    return caught.value


def rows(market: Market, table) -> int:  # type: ignore[no-untyped-def]
    return market.db.run(lambda tx: tx.conn.scalar(select(func.count()).select_from(table)))


@pytest.fixture
def priced(market: Market) -> Market:
    run_preapproval(market.db)
    return market


def test_no_identified_data_leaves_without_explicit_consent(priced: Market) -> None:
    m = priced
    offer = offers(m, 0)["T1"]
    before = (rows(m, Consent), rows(m, DataShare))
    refused(
        "consent_required", lambda: apply_for_credit(m.db, m.code(0), offer.id, m.details(0), None)
    )
    partial = ConsentTerms(("name", "uscc"), date(2026, 12, 31), "2026-01")
    error = refused(
        "consent_invalid",
        lambda: apply_for_credit(m.db, m.code(0), offer.id, m.details(0), partial),
    )
    assert any("missing fields" in p for p in error.details["problems"])
    old_text = ConsentTerms(APPLICATION_FIELDS, date(2026, 12, 31), "2025-01")
    refused(
        "consent_invalid",
        lambda: apply_for_credit(m.db, m.code(0), offer.id, m.details(0), old_text),
    )
    refused(
        "consent_invalid",
        lambda: apply_for_credit(
            m.db, m.code(0), offer.id, m.details(0), consent(valid_until=TODAY - timedelta(days=1))
        ),
    )
    assert (rows(m, Consent), rows(m, DataShare)) == before
    assert rows(m, CreditApplication) == 0
    assert offers(m, 0)["T1"].status == "live"


def test_an_application_records_its_consent_and_what_was_shared(priced: Market) -> None:
    m = priced
    offer = offers(m, 0)["T1"]
    application = apply_for_credit(m.db, m.code(0), offer.id, m.details(0), consent())
    assert (application.status, application.funder_code) == ("submitted", "T1")
    recorded = m.db.run(lambda tx: tx.session.get(Consent, application.consent_id))
    assert recorded.purpose == "credit_application" and recorded.text_version == "2026-01"
    assert set(recorded.fields.split(",")) == set(APPLICATION_FIELDS)
    shares = m.db.run(
        lambda tx: tx.conn.execute(
            select(DataShare).where(DataShare.consent_id == application.consent_id)
        ).all()
    )
    assert len(shares) == 1 and shares[0].identified is True
    # The funder reads the applicant in full, and the read is logged too.
    seen = applicant_data(m.db, application.id, funder_code="T1")
    assert seen.uscc == m.agents[0].uscc and not seen.masked
    assert rows(m, DataShare) == 8 + 2  # pre-approval, then the application and this read
    refused("application_not_found", lambda: applicant_data(m.db, application.id, funder_code="T2"))
    # Withdrawing the consent stops further sharing.
    withdraw_consent(m.db, m.code(0), application.consent_id)
    refused("consent_withdrawn", lambda: applicant_data(m.db, application.id, funder_code="T1"))
    masked = get_agent(m.db, m.code(0), Viewer(Role.FUNDER, "T1"))
    assert masked.masked and masked.uscc != m.agents[0].uscc


def test_details_must_match_the_record(priced: Market) -> None:
    m = priced
    other = m.details(1)
    refused(
        "firm_details_mismatch",
        lambda: apply_for_credit(m.db, m.code(0), offers(m, 0)["T1"].id, other, consent()),
    )


def test_offers_must_be_the_agents_own_and_open(priced: Market) -> None:
    m = priced
    refused(
        "offer_not_found",
        lambda: apply_for_credit(m.db, m.code(0), 999_999, m.details(0), consent()),
    )
    someone_elses = offers(m, 1)["T1"].id
    refused(
        "offer_not_yours",
        lambda: apply_for_credit(m.db, m.code(0), someone_elses, m.details(0), consent()),
    )
    mine = offers(m, 0)["T1"].id
    advance_to(m.db, TODAY + timedelta(days=15))
    refused(
        "offer_expired", lambda: apply_for_credit(m.db, m.code(0), mine, m.details(0), consent())
    )


def test_one_funder_at_a_time(priced: Market) -> None:
    m = priced
    mine = offers(m, 0)
    first = apply_for_credit(m.db, m.code(0), mine["T1"].id, m.details(0), consent())
    error = refused(
        "credit_already_engaged",
        lambda: apply_for_credit(m.db, m.code(0), mine["T2"].id, m.details(0), consent()),
    )
    assert error.details["application"] == first.id
    # The funder rejects: the agent may now go to the other funder.
    rejected = reject_application(m.db, first.id, funder_code="T1", reason_code="policy")
    assert (rejected.status, rejected.reason_code) == ("rejected", "policy")
    second = apply_for_credit(m.db, m.code(0), mine["T2"].id, m.details(0), consent())
    assert second.status == "submitted"
    refused(
        "application_already_decided",
        lambda: reject_application(m.db, first.id, funder_code="T1", reason_code="policy"),
    )


def test_approval_opens_a_line_within_the_product(priced: Market) -> None:
    m = priced
    offer = offers(m, 0)["T1"]
    application = apply_for_credit(m.db, m.code(0), offer.id, m.details(0), consent())
    refused(
        "application_not_found",
        lambda: approve_application(
            m.db,
            application.id,
            funder_code="T2",
            credit_limit=offer.credit_limit,
            annual_rate=offer.annual_rate,
        ),
    )
    refused(
        "line_terms_invalid",
        lambda: approve_application(
            m.db,
            application.id,
            funder_code="T1",
            credit_limit=offer.credit_limit,
            annual_rate=Decimal("0.19"),
        ),
    )
    refused(
        "rejection_reason_invalid",
        lambda: reject_application(m.db, application.id, funder_code="T1", reason_code="dislike"),
    )
    line = approve_application(
        m.db,
        application.id,
        funder_code="T1",
        credit_limit=offer.credit_limit,
        annual_rate=Decimal("0.10"),
    )
    assert (line.status, line.credit_limit, line.annual_rate) == (
        "active",
        offer.credit_limit,
        Decimal("0.1"),
    )
    assert line.valid_until == TODAY + timedelta(days=365)
    app_view, line_view = current_credit(m.db, m.code(0))
    assert app_view is not None and app_view.status == "approved" and line_view == line
    # Changing funder means closing the line first.
    refused(
        "credit_already_engaged",
        lambda: apply_for_credit(m.db, m.code(0), offers(m, 0)["T2"].id, m.details(0), consent()),
    )
    closed = close_line(m.db, line.id, reason="moving to T2")
    assert closed.status == "closed"
    refused("line_not_active", lambda: close_line(m.db, line.id, reason="again"))
    assert (
        apply_for_credit(m.db, m.code(0), offers(m, 0)["T2"].id, m.details(0), consent()).status
        == "submitted"
    )


def test_the_agent_may_withdraw_its_application(priced: Market) -> None:
    m = priced
    offer = offers(m, 0)["T1"]
    application = apply_for_credit(m.db, m.code(0), offer.id, m.details(0), consent())
    refused("application_not_found", lambda: withdraw_application(m.db, m.code(1), application.id))
    assert withdraw_application(m.db, m.code(0), application.id).status == "withdrawn"
    assert current_credit(m.db, m.code(0)) == (None, None)
    # The offer was taken up by that application: it is not live again.
    refused(
        "offer_not_live",
        lambda: apply_for_credit(m.db, m.code(0), offer.id, m.details(0), consent()),
    )
    # A consent is withdrawn by the agent who gave it, and no other.
    refused("consent_not_found", lambda: withdraw_consent(m.db, m.code(1), application.consent_id))
    withdrawn = withdraw_consent(m.db, m.code(0), application.consent_id)
    assert withdrawn.withdrawn_on is not None


@pytest.mark.parametrize("attempt", range(3))
def test_two_racing_applications_make_one(tmp_path: Path, attempt: int) -> None:
    """On PostgreSQL, two applications to two funders sent at the same moment: exactly
    one is accepted, the other refused, whatever the timing."""
    m = build_market("postgresql", tmp_path)
    run_preapproval(m.db)
    mine = offers(m, 0)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply(funder: str) -> None:
        barrier.wait()
        try:
            apply_for_credit(m.db, m.code(0), mine[funder].id, m.details(0), consent())
            outcomes.append("submitted")
        except YirongError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=apply, args=(f,)) for f in ("T1", "T2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["credit_already_engaged", "submitted"]
    assert rows(m, CreditApplication) == 1
    m.db.dispose()


def test_the_slot_holds_even_when_both_pass_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst interleaving, forced: both requests find no engagement, both insert
    one. The primary key refuses the second, which gets the same clean refusal."""
    from yirong.credit import applications
    from yirong.credit.tables import AgentEngagement

    m = build_market("postgresql", tmp_path)
    run_preapproval(m.db)
    mine = offers(m, 0)
    both_checked = threading.Barrier(2)
    real_engage = applications._engage

    def engage_after_both_checked(tx, agent, funder, application, today):  # type: ignore[no-untyped-def]
        real_get = tx.session.get
        tx.session.get = lambda cls, key, **kw: (  # type: ignore[method-assign]
            None if cls is AgentEngagement else real_get(cls, key, **kw)
        )
        both_checked.wait()
        return real_engage(tx, agent, funder, application, today)

    monkeypatch.setattr(applications, "_engage", engage_after_both_checked)
    outcomes: list[str] = []

    def apply(funder: str) -> None:
        try:
            apply_for_credit(m.db, m.code(0), mine[funder].id, m.details(0), consent())
            outcomes.append("submitted")
        except YirongError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=apply, args=(f,)) for f in ("T1", "T2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["credit_already_engaged", "submitted"]
    assert rows(m, CreditApplication) == 1  # the loser's application rolled back with it
    m.db.dispose()


def test_who_could_apply_today(priced: Market) -> None:
    # Six agents, the first four opted in and offered; two of them apply.
    db = priced.db
    for n in (0, 2):
        offer = next(iter(offers(priced, n).values()))
        apply_for_credit(db, priced.code(n), offer.id, priced.details(n), consent())
    assert agents_to_apply(db, limit=10) == [priced.code(1), priced.code(3)]
    assert agents_to_apply(db) == [priced.code(1)]


def test_a_line_is_granted_for_one_day_to_three_years(priced: Market) -> None:
    db = priced.db
    offer = next(iter(offers(priced, 0).values()))
    made = apply_for_credit(db, priced.code(0), offer.id, priced.details(0), consent())
    terms = {"funder_code": offer.funder_code, "credit_limit": 500_000}
    for days in (0, 3 * 366 + 1):
        refused_with = refused(
            "valid_days_invalid",
            lambda d=days: approve_application(
                db, made.id, annual_rate=offer.annual_rate, valid_days=d, **terms
            ),
        )
        assert refused_with.details["valid_days"] == days
    line = approve_application(
        db, made.id, annual_rate=offer.annual_rate, valid_days=3 * 366, **terms
    )
    assert (line.valid_until - line.opened_on).days == 3 * 366
