"""The demo's agents at their own banks: the card each pays from and is paid to, and
how each tops up its wallet through the reserve account. An agent quotes its pay-in
code (``YT...``) on the transfer, or pays into its virtual account; a few forget both,
call the platform, and an operator records a top-up notice (which moves nothing: the
reconciliation proposes the match, an operator confirms it)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from yirong.agents.service import AgentInput
from yirong.demo.bank import Party, SimulatedBank
from yirong.infra.db import Database
from yirong.payments.service import Payee
from yirong.reconciliation.notices import record_notice
from yirong.wallets import service as wallets
from yirong.wallets.pay_in import PREFIX

CARRIER = Party("中国移动通信集团浙江有限公司", "33050161673509000012", "中国建设银行杭州分行")
OPERATOR = "operator:ops-zhao"  # who takes the agents' calls
VIRTUAL_SHARE = 0.15  # of ordinary top-ups: into the virtual account
FORGOT_SHARE = 0.05  # of ordinary top-ups: no code at all


@dataclass
class Customers:
    db: Database
    bank: SimulatedBank
    parties: dict[str, Party]  # agent code -> its settlement card
    _pay_in: dict[str, str] = field(default_factory=dict)  # agent code -> pay-in code
    _by_virtual: dict[str, str] = field(default_factory=dict)  # virtual account -> handle

    @classmethod
    def of(cls, db: Database, bank: SimulatedBank, roster: list[AgentInput]) -> Customers:
        return cls(db, bank, {a.code: Party(a.name, a.bank_card, a.bank_name) for a in roster})

    def payee(self, code: str) -> Payee:
        party = self.parties[code]
        return Payee(party.name, party.account, party.bank)

    def pay_in_code(self, code: str) -> str:
        """As the agent's app shows it (the wallet's view)."""
        found = self._pay_in.get(code)
        if found is None:
            found = self._pay_in[code] = wallets.wallet(self.db, code).pay_in_code
            self._by_virtual[self.bank.virtual_account(found)] = f"agent:{code}"
        return found

    def wallet_of_virtual_account(self, virtual_account: str) -> str | None:
        """What an operator's console finds for a virtual account: the wallet's handle."""
        return self._by_virtual.get(virtual_account)

    def top_up(self, on: date, code: str, amount: int, *, how: str = "code") -> None:
        """The agent sends ``amount`` to the reserve account: quoting its pay-in code
        (``code``), into its virtual account (``virtual``), or quoting nothing
        (``forgot``: it calls, and an operator records what it says)."""
        payer, pay_in = self.parties[code], self.pay_in_code(code)
        if how == "virtual":
            self.bank.pay_in(on, amount, payer, virtual_account=self.bank.virtual_account(pay_in))
        elif how == "forgot":
            self.bank.pay_in(on, amount, payer, memo="充值")
            record_notice(
                self.db,
                kind="top_up",
                recorded_by=OPERATOR,
                key=f"call:{on}:{code}:{amount}",
                target=f"agent:{code}",
                amount=amount,
                their_ref="",
            )
        else:
            self.bank.pay_in(on, amount, payer, memo=f"充值 {PREFIX}{pay_in}")

    def ordinary_top_up(self, rnd: random.Random, on: date, code: str, amount: int) -> str:
        """A top-up as agents make them, some into the virtual account, a few
        forgetting the code; returns how it was sent."""
        roll = rnd.random()
        how = "code"
        if roll < FORGOT_SHARE:
            how = "forgot"
        elif roll < FORGOT_SHARE + VIRTUAL_SHARE:
            how = "virtual"
        self.top_up(on, code, amount, how=how)
        return how
