"""Demo data: the DESIGN.md household, believable, consistent, deterministic, seeded once."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from adapters.clock import FixedClock, set_clock
from models import (
    AutopayEnrollment,
    Bill,
    BillingAccount,
    BillLineItem,
    Member,
    Notification,
    Payment,
    PaymentMethod,
)
from models.enums import (
    AccessRole,
    AccountKind,
    AutopayStatus,
    AutopayStrategy,
    BillStatus,
    NotificationKind,
    PaymentMethodKind,
    PaymentMethodStatus,
    PaymentStatus,
    Role,
)
from models.ledger import bill_status
from resolvers.access import load_viewer
from resolvers.autopay_plan import next_run
from resolvers.demo import DemoAlreadySeeded, database_is_empty, seed_demo
from resolvers.demo_books import draft_books
from resolvers.demo_catalog import FAMILY_VISITS, HOSPITAL_VISITS, PHYSICIAN_VISITS, SERVICES
from resolvers.reminders import cards_expiring
from resolvers.scheduler import run_once
from settings import Settings
from tests.db import truncate_all
from tests.ledger import assert_ledger, snapshot

TODAY = date(2026, 11, 2)
# CPT Category I (five digits), II/III (four digits and F/T) or HCPCS Level II (letter, 4 digits).
CODE = re.compile(r"^(\d{5}|\d{4}[FT]|[A-V]\d{4})$")


async def seed(today: date = TODAY) -> str:
    set_clock(FixedClock(datetime.combine(today, time(7), UTC)))
    return await seed_demo(today=today)


async def statuses(today: date = TODAY) -> Counter[BillStatus]:
    return Counter(bill_status(bill, today) for bill in await Bill.all())


async def test_seeds_only_an_empty_database_and_never_twice(db: str) -> None:
    assert await database_is_empty()

    summary = await seed()
    before = await snapshot()
    with pytest.raises(DemoAlreadySeeded):
        await seed()

    assert not await database_is_empty()
    assert "61 statements" in summary and "carepay token alex@example.org" in summary
    assert await snapshot() == before
    emails = sorted(await Member.all().values_list("email", flat=True))
    assert emails == [f"{who}@example.org" for who in ("alex", "billing", "jordan", "sam")]
    assert (await Member.get(email="billing@example.org")).role is Role.STAFF


async def test_every_ledger_adds_up(db: str) -> None:
    await seed()

    await assert_ledger()  # bills vs payments, refunds, processor rows, events, confirmations
    lines: dict[int, list[BillLineItem]] = {}
    for line in await BillLineItem.all().order_by("position"):
        assert line.patient_amount == line.charge - line.insurance_paid - line.adjustment
        assert min(line.patient_amount, line.insurance_paid, line.adjustment) >= 0
        assert line.code in SERVICES and line.description == SERVICES[line.code].description
        lines.setdefault(line.bill_id, []).append(line)
    for bill in await Bill.all():
        mine = lines[bill.id]
        assert 1 <= len(mine) <= 6
        assert bill.total_charges == sum(line.charge for line in mine)
        assert bill.insurance_paid == sum(line.insurance_paid for line in mine)
        assert bill.adjustments == sum(line.adjustment for line in mine)
        assert bill.patient_responsibility == sum(line.patient_amount for line in mine) > 0
        owed = bill.patient_responsibility
        assert bill.minimum_due == min(owed, max(2_500, owed // 10))
        assert all(line.service_date < bill.statement_date for line in mine)


async def test_each_inbox_is_newest_first_by_id_as_the_api_lists_it(db: str) -> None:
    await seed()

    for member in await Member.all():
        sent = await Notification.filter(member_id=member.id).order_by("-id")
        times = [n.created_at for n in sent]
        assert times == sorted(times, reverse=True), member.email
    assert await Notification.filter(kind=NotificationKind.PAYMENT_CONFIRMATION).exists()
    assert await Notification.filter(kind=NotificationKind.STATEMENT_AVAILABLE).exists()
    await assert_ledger()  # every notification still has its event


async def test_every_status_and_bills_due_within_a_week(db: str) -> None:
    await seed()

    counts = await statuses()
    soon = await Bill.filter(
        voided_at__isnull=True,
        amount_due__gt=0,
        due_date__gte=TODAY,
        due_date__lte=TODAY + timedelta(days=7),
    )

    assert set(counts) == set(BillStatus)
    assert counts[BillStatus.PAID] > 40 and counts[BillStatus.PARTIALLY_PAID] >= 2
    assert counts[BillStatus.VOIDED] == 1 and counts[BillStatus.OVERDUE] >= 1
    assert len(soon) >= 2
    assert {bill_status(b, TODAY) for b in soon} == {BillStatus.ISSUED, BillStatus.PARTIALLY_PAID}
    assert await Payment.filter(status=PaymentStatus.FAILED).exists()
    assert await Payment.filter(status=PaymentStatus.REFUNDED).exists()
    assert await Payment.filter(status=PaymentStatus.PROCESSING).exists()
    voided = await Bill.get(voided_at__isnull=False)
    assert not await Payment.filter(bill_id=voided.id).exists()


async def test_alex_has_two_years_of_monthly_statements_on_two_accounts(db: str) -> None:
    await seed()
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None and viewer.access is not None

    accounts = await BillingAccount.filter(id__in=list(viewer.access))

    assert sorted(a.kind for a in accounts) == [AccountKind.HOSPITAL, AccountKind.PROFESSIONAL]
    assert set(viewer.access.values()) == {AccessRole.GUARANTOR}
    for account in accounts:
        bills = await Bill.filter(account_id=account.id, voided_at__isnull=True)
        months = sorted({b.statement_date.year * 12 + b.statement_date.month for b in bills})
        assert months == list(range(months[0], months[0] + 24)), account.account_number
        newest = max(b.statement_date for b in bills)
        assert TODAY - timedelta(days=31) < newest < TODAY


async def test_sam_may_pay_exactly_one_of_alexs_accounts(db: str) -> None:
    await seed()

    sam = await load_viewer("sam@example.org", "member")
    alex = await load_viewer("alex@example.org", "member")

    assert sam is not None and alex is not None and sam.access is not None
    assert list(sam.access.values()) == [AccessRole.PROXY_PAY]
    (account_id,) = sam.access
    assert alex.can_see(account_id) and sam.can_pay(account_id)


async def test_jordans_autopay_has_a_bill_to_charge_in_one_to_three_weeks(db: str) -> None:
    await seed()
    jordan = await Member.get(email="jordan@example.org")

    enrollment = await AutopayEnrollment.get(member_id=jordan.id)
    card = await PaymentMethod.get(id=enrollment.method_id)
    run = await next_run(enrollment, TODAY)

    assert (enrollment.status, enrollment.strategy, enrollment.days_before_due) == (
        AutopayStatus.ACTIVE,
        AutopayStrategy.STATEMENT_BALANCE,
        3,
    )
    assert (card.processor_token, card.brand, card.member_id) == (
        "tok_mastercard",
        "mastercard",
        jordan.id,
    )
    assert run is not None and run.skip_reason is None
    assert 5 <= (run.bill.due_date - TODAY).days <= 20
    assert run.amount == run.bill.amount_due > 0
    assert not await Payment.filter(bill_id=run.bill.id).exists()


async def test_saved_methods_and_a_card_expiring_soon(db: str) -> None:
    await seed()
    alex = await Member.get(email="alex@example.org")

    methods = await PaymentMethod.filter(member_id=alex.id, status=PaymentMethodStatus.ACTIVE)
    by_kind = {m.kind: m for m in methods}
    visa, bank = by_kind[PaymentMethodKind.CARD], by_kind[PaymentMethodKind.ACH]
    jordans = await PaymentMethod.get(processor_token="tok_mastercard")
    expires = date(jordans.exp_year or 0, jordans.exp_month or 1, 28)
    notices = await cards_expiring(expires, Settings.from_env({}).card_expiry_notice_days)

    assert len(methods) == 2
    assert (visa.processor_token, visa.last4, visa.is_default) == ("tok_visa", "4242", True)
    assert (visa.exp_year or 0) > TODAY.year
    assert (bank.routing_number, bank.last4, bank.is_default) == ("110000000", "6789", False)
    assert bank.processor_token.startswith("btok_") and "000123456789" not in bank.processor_token
    assert TODAY < expires < TODAY + timedelta(days=70)
    assert [n.kind for n in notices] == [NotificationKind.PAYMENT_METHOD_EXPIRING]


async def test_the_scheduler_carries_on_from_the_demo_without_repeating_it(db: str) -> None:
    await seed()
    sent_before = set(await Notification.all().values_list("dedupe_key", flat=True))
    settles = await Payment.get(status=PaymentStatus.PROCESSING)
    assert settles.settle_after is not None

    at = settles.settle_after + timedelta(hours=1)
    set_clock(FixedClock(at))
    report = await run_once(at, settings=Settings.from_env({}))

    assert not report.errors
    assert (await Payment.get(id=settles.id)).status is PaymentStatus.SUCCEEDED
    await assert_ledger()
    new = await Notification.exclude(dedupe_key__in=list(sent_before))
    assert {n.kind for n in new} <= {
        NotificationKind.PAYMENT_CONFIRMATION,
        NotificationKind.BILL_DUE_SOON,
        NotificationKind.AUTOPAY_UPCOMING,
    }


async def test_the_same_day_gives_the_same_data(db: str) -> None:
    await seed()
    first = await snapshot()
    await truncate_all()

    await seed()

    assert await snapshot() == first
    assert draft_books(random.Random(7), TODAY) == draft_books(random.Random(7), TODAY)


def test_statements_hold_one_to_six_lines_on_any_day() -> None:
    for today in (date(2025, 1, 1), date(2027, 2, 28), date(2028, 7, 31)):
        books = draft_books(random.Random(20_240_611), today)
        statements = [*books.hospital, *books.physician, *books.family]
        assert all(1 <= len(s.lines) <= 6 and s.patient_responsibility > 0 for s in statements)
        assert 5 <= (books.family[0].due_date - today).days <= 20
        assert sum(1 for s in statements if 0 <= (s.due_date - today).days <= 7) >= 2


def test_catalog_codes_are_real_shapes_and_every_visit_is_priced() -> None:
    assert all(CODE.match(code) for code in SERVICES), [c for c in SERVICES if not CODE.match(c)]
    for visits, facility in (
        (HOSPITAL_VISITS, True),
        (PHYSICIAN_VISITS, False),
        (FAMILY_VISITS, False),
    ):
        for visit in visits:
            for code in {c for group in (*visit.main, *visit.extras) for c in group}:
                low, high = (
                    SERVICES[code].facility if facility else SERVICES[code].professional
                ) or (0, 0)
                assert 0 < low <= high, (visit.provider, code)
    assert SERVICES["99213"].description.startswith("Office or outpatient visit, established")
    assert SERVICES["85025"].description.startswith("Complete blood count")


def test_the_cli_seeds_an_empty_database_once(tmp_path: Path) -> None:
    carepay = Path(sys.executable).with_name("carepay")
    env = {**os.environ, "CAREPAY_DATABASE_URL": f"sqlite://{tmp_path / 'demo.sqlite3'}"}
    env["CAREPAY_ENV"] = "test"

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(carepay), *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    migrations = sorted((Path(__file__).parents[2] / "migrations").glob("0*.py"))
    applied = run("migrate")
    assert applied.startswith(f"applied {len(migrations)} migration(s): models.0001"), applied
    assert run("migrate").strip() == "applied 0 migration(s)"
    first = run("seed", "--demo", "--if-empty")
    second = run("seed", "--demo", "--if-empty")
    again = subprocess.run(
        [str(carepay), "seed", "--demo"], env=env, capture_output=True, text=True, check=False
    )

    assert first.startswith("seeded demo data: 4 members, 3 accounts")
    assert second.strip() == "demo data already present; nothing to do"
    assert again.returncode != 0
    assert "already in the database (use --if-empty" in again.stderr
    assert "Traceback" not in again.stderr
