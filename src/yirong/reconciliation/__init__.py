"""Reconciliation (对账): the bank's statements are the only source of fund flow (资金流).

Statements of the platform's bank accounts are imported (any layout ``bankfiles``
reads), each line once; a line is matched to the information flow (信息流) it belongs
to (a drawdown order, a wallet's pay-in code, a commission file, one of our outbound
payments, or someone's notice), and only then does money move in the books. What
matches nothing is an exception with a type, an age, an owner and actions."""
