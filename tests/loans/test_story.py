"""The seed's story, start to finish, on both databases: an offer, a line, a
drawdown matched through the reserve account, interest, the loan overdue, the wallet
frozen (a withdrawal refused), a commission that arrives and is swept, the wallet
unfrozen, the revenue share booked; and the books verify after every step."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.bank import Bank, fund
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, market_with_line
from yirong.errors import YirongError
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.loans.repayments import owed_now
from yirong.wallets import service as wallets
from yirong.wallets.commissions import import_commissions


def balance(db, code: str) -> int:  # type: ignore[no-untyped-def]
    return db.run(lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, code)).balance)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_seed_story(backend: str, tmp_path: Path) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    before = wallets.wallet(db, handle).balance

    # 5,000 yuan for 30 days, ordered on 2026-01-05, funded the same day.
    order = request_drawdown(db, agent, 500_000, 30, "dd-1")
    assert request_drawdown(db, agent, 500_000, 30, "dd-1").outcome == "exists"
    assert fund(db, "T1", order.order_ref, 500_000) == "matched"
    assert wallets.wallet(db, handle).balance == before + 500_000
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.credited_on, loan.due_date) == (
        "credited",
        date(2026, 1, 5),
        date(2026, 2, 4),
    )
    assert verify(db).ok

    # The agent spends the money; ten days later it owes ten days' interest:
    # 500,000 × 12% × 10 / 360 = 1,666.67 fen -> 1,667.
    wallets.pay_carrier(db, handle, before + 500_000, "spend")
    close_days_until(market, date(2026, 1, 15))
    [owed] = owed_now(db, agent)
    assert (owed.interest, owed.penalty, owed.principal) == (1_667, 0, 500_000)
    assert verify(db).ok

    # Not repaid by the due date: overdue from 2026-02-05, the wallet frozen.
    close_days_until(market, date(2026, 2, 5))
    [loan] = drawdowns_of(db, agent)
    assert loan.status == "overdue"
    assert "overdue" in wallets.wallet(db, handle).freezes
    other = "agent:" + market.code(1)
    wallets.credit_from_bank(db, other, 100, "other")  # another wallet: untouched
    with pytest.raises(YirongError) as refused:
        wallets.request_withdrawal(db, handle, 1, "wd")
    # The wallet is empty too, but the ledger reads an account's state before its
    # balance (as TigerBeetle does): the freeze is what refuses.
    assert refused.value.code == "account_frozen"

    # A commission arrives (the carrier's payment of the file on the bank's statement):
    # it repays the overdue debt at once, in the same transaction.
    # Owed on 2026-02-07: 31 days' interest (5,166.67 -> 5,167) and 2 days' penalty on
    # 5,000 yuan at 18%: 500,000 × 0.18 × 2 / 360 = 500.
    close_days_until(market, date(2026, 2, 7))
    [owed] = owed_now(db, agent)
    assert (owed.penalty, owed.interest, owed.principal) == (500, 5_167, 500_000)
    rows = f"agent,month,amount\n{agent},2026-01,2000000\n"
    recorded = import_commissions(db, rows.encode(), "jan.csv")
    assert owed_now(db, agent) != []  # the carrier's file alone is not money
    bank = Bank(db)
    bank.credit(2_000_000, memo=f"佣金 {recorded.reference}", name="运营商")
    assert bank.close_day().matched == 1
    assert owed_now(db, agent) == []
    after = wallets.wallet(db, handle)
    assert after.balance == 2_000_000 - (500 + 5_167 + 500_000)
    assert after.freezes == ()  # unfrozen by itself
    wallets.request_withdrawal(db, handle, 100, "wd-after")  # and money may leave again
    # The platform's 20% of the 5,667 fen of interest and penalty collected.
    assert balance(db, "platform:revenue_share") == 1_133
    assert balance(db, "share:T1") == 1_133
    [loan] = drawdowns_of(db, agent)
    assert loan.status == "repaid"
    report = verify(db)
    assert report.ok, report


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_top_up_or_a_transfer_into_an_overdue_wallet_repays_first(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    order = request_drawdown(db, agent, 360_000, 7, "dd")
    fund(db, "T1", order.order_ref, 360_000)
    wallets.pay_carrier(db, handle, wallets.wallet(db, handle).balance, "spend")
    close_days_until(market, date(2026, 1, 13))  # due 01-12: overdue from 01-13
    [owed] = owed_now(db, agent)
    assert owed.principal == 360_000 and "overdue" in wallets.wallet(db, handle).freezes
    # all of it repays, penalty and interest first
    wallets.credit_from_bank(db, handle, 100_000, "t1")
    [owed] = owed_now(db, agent)
    assert wallets.wallet(db, handle).balance == 0
    assert owed.penalty == 0 and owed.interest == 0 and owed.principal < 360_000
    other = f"agent:{market.code(1)}"
    wallets.credit_from_bank(db, other, 400_000, "t2")
    wallets.transfer(db, other, handle, 400_000, "gift")
    assert owed_now(db, agent) == []
    assert wallets.wallet(db, handle).freezes == ()
    assert wallets.wallet(db, handle).balance == 400_000 - owed.principal
    assert verify(db).ok
