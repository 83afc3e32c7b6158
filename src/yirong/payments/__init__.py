"""Outbound payments (代付): money the platform instructs its bank to pay out of a
reserve account (an agent's withdrawal, a funder's payout, money returned to its
sender). Each is a hold in the ledger until the bank's statement shows the debit
(settled) or a return of it (voided); nobody's word settles one."""
