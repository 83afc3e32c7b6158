"""The funder-file layout as rules: the share apportioned to the fen, the control record
counted from the rows, and the comparison's differences (tables written by hand)."""

from __future__ import annotations

from datetime import date

import pytest

from yirong.errors import YirongError
from yirong.reconciliation.funder_layout import KINDS, compare, ok_marker, read, split_share, write

DAY = date(2026, 3, 9)


@pytest.mark.parametrize(
    ("share", "weights", "parts"),
    [
        (100, [1, 1, 1], [33, 33, 34]),  # the fen left over goes to the last
        (7, [300, 100], [5, 2]),  # 5.25 and 1.75 rounded down; the fen left to the last
        (10, [0, 0], [0, 10]),  # nothing to weigh by: all on the last
        (0, [5, 5], [0, 0]),
        (1, [999, 1], [0, 1]),
    ],
)
def test_a_share_is_apportioned_to_the_fen(
    share: int, weights: list[int], parts: list[int]
) -> None:
    assert split_share(share, weights) == parts
    assert sum(parts) == share


def test_a_written_file_reads_back_and_its_control_record_counts_its_rows() -> None:
    rows = [("P1", 1200, "instructed", DAY), ("P2", 34, "instructed", DAY)]
    content = write("F1", KINDS["PAYOUTS"], DAY, rows)
    assert content.decode().split("\n")[:2] == [
        "H|F1|PAYOUTS|20260309|2|1234",
        "payment_ref|amount_fen|status|instructed_on",
    ]
    assert ok_marker(content).decode().startswith("2|")
    back = read(content, ok_marker(content), funder="F1", kind="PAYOUTS", day=DAY)
    assert back.lines == ["P1|1200|instructed|2026-03-09", "P2|34|instructed|2026-03-09"]
    assert back.totals == (1234,)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "H|F1|PAYOUTS|20260309|1|99\npayment_ref|amount_fen|status|instructed_on\nP1|98|x|y\n",
            "funder_file_control_mismatch",
        ),
        (
            "H|F1|PAYOUTS|20260309|2|98\npayment_ref|amount_fen|status|instructed_on\nP1|98|x|y\n",
            "funder_file_control_mismatch",
        ),
        (
            "H|F2|PAYOUTS|20260309|1|98\npayment_ref|amount_fen|status|instructed_on\nP1|98|x|y\n",
            "funder_file_other_funder",
        ),
        (
            "H|F1|LOANS|20260309|1|98\npayment_ref|amount_fen|status|instructed_on\nP1|98|x|y\n",
            "funder_file_other_kind",
        ),
        (
            "H|F1|PAYOUTS|20260310|1|98\npayment_ref|amount_fen|status|instructed_on\nP1|98|x|y\n",
            "funder_file_other_date",
        ),
        (
            "H|F1|PAYOUTS|20260309|1|98\npayment_ref|amount|status|instructed_on\nP1|98|x|y\n",
            "funder_file_malformed",
        ),
        (
            "H|F1|PAYOUTS|20260309|1|98\npayment_ref|amount_fen|status|instructed_on\nP1|9.8|x|y\n",
            "funder_file_malformed",
        ),
        (
            "H|F1|PAYOUTS|20260309|1|98\npayment_ref|amount_fen|status|instructed_on\nP1|98|x\n",
            "funder_file_malformed",
        ),
    ],
)
def test_a_wrong_file_is_refused_with_its_own_code(text: str, code: str) -> None:
    content = text.encode()
    with pytest.raises(YirongError) as refused:
        read(content, ok_marker(content), funder="F1", kind="PAYOUTS", day=DAY)
    assert refused.value.code == code


def test_the_comparison_lists_each_difference_once() -> None:
    kind = KINDS["LOANS"]
    ours = [
        ("YR1", "A1", 100, 5, 0, "credited", 0, DAY),
        ("YR2", "A2", 200, 9, 0, "overdue", 3, DAY),
        ("YR3", "A3", 300, 1, 0, "credited", 0, DAY),
    ]
    theirs = [
        ("YR1", "A1", 100, 5, 0, "credited", 0, DAY),  # the same
        ("YR2", "A2", 200, 8, 0, "credited", 3, DAY),  # interest and status differ
        ("YR4", "A4", 400, 2, 0, "credited", 0, DAY),  # theirs only
    ]

    def parsed(rows: list[tuple[object, ...]]):  # type: ignore[no-untyped-def]
        content = write("F1", kind, DAY, rows)
        return read(content, ok_marker(content), funder="F1", kind="LOANS", day=DAY)

    found = compare(parsed(ours), parsed(theirs))
    # Row order does not matter: the funder's system may write its rows in any order.
    assert compare(parsed(ours), parsed(theirs[::-1])) == found
    assert [(d.kind.value, d.key, d.field, d.ours, d.theirs) for d in found] == [
        ("amount_differs", "YR2", "interest_due_fen", "9", "8"),
        ("status_differs", "YR2", "status", "overdue", "credited"),
        ("missing_at_funder", "YR3", "", "present", ""),
        ("missing_at_platform", "YR4", "", "", "present"),
    ]
