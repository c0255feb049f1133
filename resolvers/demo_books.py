"""The demo household's statements and payments, drafted in memory before anything is written.

Alex's hospital and physician accounts have two years of monthly statements that
share one commercial plan's deductible; Jordan's account has a year on Medicare
Part B. The newest statements are dated so that, counted from `today`, one of
Alex's is due in 4 days, another in 7, and Jordan's in 13 (autopay runs 3 days
before that).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from resolvers.demo_catalog import (
    COMMERCIAL_PPO,
    FAMILY_VISITS,
    FIRST_FAMILY_VISIT,
    HOSPITAL_VISITS,
    MEDICARE_PART_B,
    PHYSICIAN_VISITS,
    Coverage,
    Visit,
)
from resolvers.demo_statements import (
    CostSharing,
    StatementDraft,
    draft_lines,
    months_before,
    with_duplicate_line,
)
from resolvers.demo_story import family, hospital, physician

MONTHS = 24
FAMILY_MONTHS = 12
HOSPITAL_LATEST = timedelta(days=21)  # due in 4 days
PHYSICIAN_LATEST = timedelta(days=18)  # due in 7 days
FAMILY_LATEST = timedelta(days=12)  # due in 13 days
VOIDED = 8  # which hospital statement (0 = newest) was voided and reissued
REISSUED_AFTER = timedelta(days=4)
AUTOPAY_FROM = 9  # Jordan's statements older than this were paid by hand


@dataclass(frozen=True)
class Books:
    """Each account's statements, newest first."""

    hospital: list[StatementDraft]
    physician: list[StatementDraft]
    family: list[StatementDraft]


@dataclass(frozen=True)
class _Account:
    prefix: str
    latest: date
    months: int
    visits: tuple[Visit, ...]
    facility: bool


def _draft(
    rng: random.Random, accounts: list[_Account], coverage: Coverage
) -> list[list[StatementDraft]]:
    """Statements of accounts that share a plan, drawn oldest first so deductibles add up."""
    dated = sorted(
        (months_before(acct.latest, k), i)
        for i, acct in enumerate(accounts)
        for k in range(acct.months)
    )
    books: list[list[StatementDraft]] = [[] for _ in accounts]
    sharing = CostSharing(coverage, since=dated[0][0])
    for day, i in dated:
        acct = accounts[i]
        first = FIRST_FAMILY_VISIT if acct.visits is FAMILY_VISITS and not books[i] else None
        lines = draft_lines(
            rng,
            acct.visits,
            facility=acct.facility,
            sharing=sharing,
            statement_date=day,
            first=first,
        )
        books[i].insert(0, StatementDraft(f"{acct.prefix}-{day:%Y%m%d}", day, lines))
    return books


def _reissue(statements: list[StatementDraft], index: int) -> list[StatementDraft]:
    """Void statement `index` (it charged a line twice) and put its correction after it."""
    right = statements[index]
    day = right.statement_date
    wrong = StatementDraft(right.number, day, with_duplicate_line(right.lines), voided=True)
    reissued_on = day + REISSUED_AFTER
    corrected = replace(
        right, number=f"{right.number[:4]}{reissued_on:%Y%m%d}", statement_date=reissued_on
    )
    return [*statements[:index], corrected, wrong, *statements[index + 1 :]]


def draft_books(rng: random.Random, today: date) -> Books:
    """Every statement and payment of the demo household, as of `today`."""
    hospital_stmts, physician_stmts = _draft(
        rng,
        [
            _Account("RMC", today - HOSPITAL_LATEST, MONTHS, HOSPITAL_VISITS, facility=True),
            _Account("RPG", today - PHYSICIAN_LATEST, MONTHS, PHYSICIAN_VISITS, facility=False),
        ],
        COMMERCIAL_PPO,
    )
    (family_stmts,) = _draft(
        rng,
        [_Account("LFM", today - FAMILY_LATEST, FAMILY_MONTHS, FAMILY_VISITS, facility=False)],
        MEDICARE_PART_B,
    )
    hospital_stmts = _reissue(hospital_stmts, VOIDED)
    hospital(rng, hospital_stmts)
    physician(rng, physician_stmts, today)
    family(rng, family_stmts, AUTOPAY_FROM)
    return Books(hospital_stmts, physician_stmts, family_stmts)
