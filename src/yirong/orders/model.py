"""Order financing's rules, pure: what an order is worth once changes are taken off,
the most that may be advanced against it, the agent's part and margin, the term
that follows the order's cycle, and the gate a payout must pass. No I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yirong.money import PPM, ppm_of

DOCUMENT_KINDS = ("contract", "invoice", "delivery_receipt")
# What the funder must see before its money goes to the supplier; the delivery
# receipt comes with the goods, after the payout.
DOCUMENTS_BEFORE_PAYOUT = ("contract", "invoice")
CHANGE_KINDS = ("cancelled", "short_delivery", "returned")
SELL_THROUGH_DAYS = 30  # the default time to sell the goods after they arrive


def net_value(total: int, reduced: int) -> int:
    """What remains of the order: its value less what was cancelled, not delivered or
    returned."""
    return total - reduced


def max_advance(net: int, advance_rate_ppm: int) -> int:
    """The most the funder may advance against ``net`` fen: the rate's share, rounded
    down (an advance of one fen over the rate is over it)."""
    return net * advance_rate_ppm // PPM


@dataclass(frozen=True, slots=True)
class Split:
    """How an order of ``net`` fen is paid to its supplier: the funder's advance and
    the agent's part; and the margin the agent keeps aside until it is repaid."""

    advance: int
    own_part: int
    margin: int

    @property
    def held(self) -> int:
        """What the wallet must hold (and is held) from the request to the payout."""
        return self.own_part + self.margin

    @property
    def payout(self) -> int:
        """What the supplier is paid: the whole order that remains."""
        return self.advance + self.own_part


def split(net: int, advance: int, margin_ppm: int) -> Split:
    return Split(advance, net - advance, ppm_of(advance, margin_ppm))


def term_days(today: date, expected_delivery: date, sell_through_days: int) -> int:
    """The order's cycle: until the goods arrive, then the time to sell them."""
    return max((expected_delivery - today).days, 0) + sell_through_days


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What the payout gate reads, gathered by the service."""

    order_confirmed: bool
    order_cancelled: bool
    documents: frozenset[str]
    advance: int
    allowed_advance: int  # the rate's share of what remains of the order now
    facility_active: bool
    margin_held: bool
    supplier_verified: bool
    supplier_whitelisted: bool
    other_financings: int  # other financings of this order or of its invoice
    money_in_escrow: bool
    agent_overdue: bool


def missing(f: GateFacts) -> list[str]:
    """Everything that keeps the supplier from being paid, named (empty: it may be)."""
    found: list[str] = []
    if f.order_cancelled:
        found.append("order_cancelled")
    elif not f.order_confirmed:
        found.append("order_not_confirmed")
    found.extend(f"document:{kind}" for kind in DOCUMENTS_BEFORE_PAYOUT if kind not in f.documents)
    if f.advance > f.allowed_advance:
        found.append("advance_over_rate")
    if not f.facility_active:
        found.append("facility_not_active")
    if not f.margin_held:
        found.append("margin_not_held")
    if not f.supplier_verified:
        found.append("supplier_account_unverified")
    if not f.supplier_whitelisted:
        found.append("supplier_not_whitelisted")
    if f.other_financings:
        found.append("order_already_financed")
    if not f.money_in_escrow:
        found.append("funder_money_not_arrived")
    if f.agent_overdue:
        found.append("agent_overdue")
    return found
