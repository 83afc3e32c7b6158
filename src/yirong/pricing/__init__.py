"""Loan pricing: repayment schedules (还款计划) in whole fen and their annualised rate
(年化利率), simple and compound, as PBoC Announcement 〔2021〕 No. 3 requires. Pure: no
I/O, no clock, no float."""
