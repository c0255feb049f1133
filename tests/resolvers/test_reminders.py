"""Reminders: each kind sent once, to the right members, with its outbox event."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from adapters.clock import FixedClock, set_clock
from models import Bill, BillingAccount, Member, Notification, OutboxEvent, PaymentMethod
from models.enums import AccessRole, AccountStatus, AutopayStrategy, NotificationKind
from resolvers.autopay_charges import run_autopay
from resolvers.reminders import ReminderReport, send_reminders
from settings import Settings, SettingsError
from tests import factories

SETTINGS = Settings.from_env({})
DUE = date(2026, 12, 10)  # autopay 3 days before charges on Monday December 7


async def remind(day: date, settings: Settings = SETTINGS) -> ReminderReport:
    at = datetime.combine(day, time(8), UTC)
    set_clock(FixedClock(at))
    return await send_reminders(at, settings=settings)


async def sent(kind: NotificationKind) -> list[tuple[int, int | None]]:
    """(member, bill) of each notification of a kind, in order."""
    rows = await Notification.filter(kind=kind).order_by("id")
    return [(n.member_id, n.bill_id) for n in rows]


async def household() -> tuple[Member, Member, BillingAccount]:
    alex = await factories.member()
    sam = await factories.member()
    viv = await factories.member()
    acct = await factories.account(alex)
    await factories.grant(sam, acct, AccessRole.PROXY_PAY)
    await factories.grant(viv, acct, AccessRole.PROXY_VIEW)  # sees, does not pay: no reminders
    return alex, sam, acct


async def test_due_soon_goes_to_each_payer_seven_and_one_days_before(db: str) -> None:
    alex, sam, acct = await household()
    bill = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    paid = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    await Bill.filter(id=paid.id).update(amount_due=0, amount_paid=10_000)

    assert (await remind(date(2026, 12, 2))).sent[NotificationKind.BILL_DUE_SOON] == 0
    week = await remind(date(2026, 12, 3))
    again = await remind(date(2026, 12, 3))
    between = await remind(date(2026, 12, 6))
    day_before = await remind(date(2026, 12, 9))

    assert week.sent[NotificationKind.BILL_DUE_SOON] == 2
    assert again.sent.total() == 0 and between.sent.total() == 0
    assert day_before.sent[NotificationKind.BILL_DUE_SOON] == 2
    pairs = [(alex.id, bill.id), (sam.id, bill.id)]
    assert await sent(NotificationKind.BILL_DUE_SOON) == pairs * 2
    first = await Notification.filter(kind=NotificationKind.BILL_DUE_SOON).first()
    assert first is not None and first.amount == 10_000
    assert "$100.00" in first.message and "December 10, 2026" in first.message


async def test_due_soon_says_what_autopay_will_pay_and_when(db: str) -> None:
    alex, sam, acct = await household()
    await factories.autopay(sam, acct, await factories.card(sam))
    full = await factories.bill(acct, due=12_000, due_date=DUE, statement_date=date(2026, 10, 1))
    other = await factories.account(alex)
    await factories.autopay(
        alex,
        other,
        await factories.card(alex),
        fixed_amount=5_000,
        strategy=AutopayStrategy.FIXED_AMOUNT,
    )
    part = await factories.bill(other, due=42_000, due_date=DUE, statement_date=date(2026, 10, 1))
    held = await factories.account(alex)
    await factories.autopay(alex, held, await factories.card(alex))
    await BillingAccount.filter(id=held.id).update(status=AccountStatus.ON_HOLD)
    unpaid = await factories.bill(held, due=7_000, due_date=DUE, statement_date=date(2026, 10, 1))

    await remind(date(2026, 12, 3))

    async def said(bill: Bill) -> set[str]:
        rows = await Notification.filter(bill_id=bill.id, kind=NotificationKind.BILL_DUE_SOON)
        return {n.message for n in rows}

    assert await said(full) == {
        "Autopay will pay $120.00 on Monday, December 7, 2026 for statement "
        f"{full.statement_number}, due Thursday, December 10, 2026."
    }
    assert await said(part) == {
        f"Statement {part.statement_number} is due Thursday, December 10, 2026: $420.00. "
        "Autopay will pay $50.00 of it on Monday, December 7, 2026."
    }
    assert await said(unpaid) == {  # autopay would skip it: the plain reminder
        f"Statement {unpaid.statement_number} is due Thursday, December 10, 2026: $70.00."
    }


async def test_a_missed_reminder_is_sent_late_once_and_offsets_are_configurable(db: str) -> None:
    _, _, acct = await household()
    await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))

    late = await remind(date(2026, 12, 5))  # the scheduler was down on Dec 3
    assert late.sent[NotificationKind.BILL_DUE_SOON] == 2
    assert (await remind(date(2026, 12, 6))).sent.total() == 0

    three_days = replace(SETTINGS, reminder_days=(3,))
    assert (await remind(date(2026, 12, 7), three_days)).sent[NotificationKind.BILL_DUE_SOON] == 2
    none = replace(SETTINGS, reminder_days=())
    assert (await remind(date(2026, 12, 9), none)).sent[NotificationKind.BILL_DUE_SOON] == 0


async def test_overdue_the_day_after_the_due_date_once(db: str) -> None:
    alex, sam, acct = await household()
    bill = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    old = await factories.bill(acct, due_date=date(2026, 9, 10), statement_date=date(2026, 8, 1))
    voided = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    await Bill.filter(id=voided.id).update(voided_at=datetime(2026, 12, 1, tzinfo=UTC))

    assert (await remind(DUE)).sent[NotificationKind.BILL_OVERDUE] == 0
    assert (await remind(date(2026, 12, 11))).sent[NotificationKind.BILL_OVERDUE] == 2
    assert (await remind(date(2026, 12, 12))).sent[NotificationKind.BILL_OVERDUE] == 0

    assert await sent(NotificationKind.BILL_OVERDUE) == [(alex.id, bill.id), (sam.id, bill.id)]
    assert not await Notification.filter(bill_id=old.id).exists()


async def test_statement_available_for_a_new_bill(db: str) -> None:
    alex, sam, acct = await household()
    new = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 11, 15))
    await factories.bill(acct, due_date=date(2026, 10, 25), statement_date=date(2026, 9, 30))

    assert (await remind(date(2026, 11, 14))).sent[NotificationKind.STATEMENT_AVAILABLE] == 0
    assert (await remind(date(2026, 11, 15))).sent[NotificationKind.STATEMENT_AVAILABLE] == 2
    assert (await remind(date(2026, 11, 16))).sent[NotificationKind.STATEMENT_AVAILABLE] == 0
    pairs = [(alex.id, new.id), (sam.id, new.id)]
    assert await sent(NotificationKind.STATEMENT_AVAILABLE) == pairs


async def test_autopay_upcoming_three_days_before_the_charge_with_amount_date_method(
    db: str,
) -> None:
    _, sam, acct = await household()
    card = await factories.card(sam, token="tok_mastercard", brand="mastercard")
    await factories.autopay(sam, acct, card)
    bill = await factories.bill(acct, due=12_345, due_date=DUE, statement_date=date(2026, 10, 1))

    assert (await remind(date(2026, 12, 3))).sent[NotificationKind.AUTOPAY_UPCOMING] == 0
    assert (await remind(date(2026, 12, 4))).sent[NotificationKind.AUTOPAY_UPCOMING] == 1
    assert (await remind(date(2026, 12, 7))).sent[NotificationKind.AUTOPAY_UPCOMING] == 0

    (notice,) = await Notification.filter(kind=NotificationKind.AUTOPAY_UPCOMING)
    assert (notice.member_id, notice.bill_id, notice.amount) == (sam.id, bill.id, 12_345)
    assert "$123.45" in notice.message
    assert "Monday, December 7, 2026" in notice.message
    assert "Mastercard ending 4242" in notice.message


async def test_a_charge_made_before_any_reminder_run_was_announced_first_and_only_once(
    db: str,
) -> None:
    alex, _, acct = await household()
    await factories.autopay(alex, acct, await factories.card(alex))
    first = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    charged = await factories.bill(acct, due_date=DUE, statement_date=date(2026, 10, 1))
    at = datetime.combine(date(2026, 12, 7), time(8), UTC)
    set_clock(FixedClock(at))
    await Bill.filter(id=first.id).update(amount_due=0, amount_paid=10_000)  # nothing to charge
    await run_autopay(at)  # charges `charged` before any reminder run

    report = await remind(date(2026, 12, 7))

    assert report.sent[NotificationKind.AUTOPAY_UPCOMING] == 0
    (notice,) = await Notification.filter(bill_id=charged.id, kind="AUTOPAY_UPCOMING")
    receipt = await Notification.get(bill_id=charged.id, kind="PAYMENT_CONFIRMATION")
    assert notice.member_id == alex.id and notice.id < receipt.id
    assert not await Notification.filter(bill_id=first.id, kind="AUTOPAY_UPCOMING").exists()


async def test_payment_method_expiring_before_an_autopay_card_runs_out(db: str) -> None:
    alex, _, acct = await household()
    card = await factories.card(alex)
    await PaymentMethod.filter(id=card.id).update(exp_month=12, exp_year=2026)
    await factories.autopay(alex, acct, card)

    assert (await remind(date(2026, 11, 30))).sent[NotificationKind.PAYMENT_METHOD_EXPIRING] == 0
    assert (await remind(date(2026, 12, 1))).sent[NotificationKind.PAYMENT_METHOD_EXPIRING] == 1
    assert (await remind(date(2026, 12, 20))).sent[NotificationKind.PAYMENT_METHOD_EXPIRING] == 0
    (notice,) = await Notification.filter(kind=NotificationKind.PAYMENT_METHOD_EXPIRING)
    assert notice.member_id == alex.id and "December 2026" in notice.message


async def test_every_reminder_has_its_outbox_event(db: str) -> None:
    _, _, acct = await household()
    await factories.bill(acct, due_date=DUE, statement_date=date(2026, 12, 3))

    await remind(date(2026, 12, 3))

    notifications = await Notification.all().order_by("id")
    events = await OutboxEvent.filter(topic="notifications").order_by("id")
    assert len(notifications) == 4  # due soon and statement available, to two payers
    assert [(e.type, e.notification_id, e.member_id) for e in events] == [
        ("NOTIFICATION_CREATED", n.id, n.member_id) for n in notifications
    ]


async def test_concurrent_runs_send_each_reminder_once(db: str) -> None:
    for _ in range(3):
        _, _, acct = await household()
        await factories.bill(acct, due_date=DUE, statement_date=date(2026, 12, 3))
    at = datetime.combine(date(2026, 12, 3), time(8), UTC)
    set_clock(FixedClock(at))

    reports = await asyncio.gather(*(send_reminders(at, settings=SETTINGS) for _ in range(4)))

    total = sum((r.sent for r in reports), Counter[NotificationKind]())
    assert total == {NotificationKind.BILL_DUE_SOON: 6, NotificationKind.STATEMENT_AVAILABLE: 6}
    assert await Notification.all().count() == 12
    assert await OutboxEvent.filter(topic="notifications").count() == 12


def test_reminder_days_are_read_from_the_environment() -> None:
    assert Settings.from_env({}).reminder_days == (7, 1)
    assert Settings.from_env({"CAREPAY_REMINDER_DAYS": "1, 14,3"}).reminder_days == (14, 3, 1)
    assert Settings.from_env({"CAREPAY_REMINDER_DAYS": ""}).reminder_days == ()
    for bad in ("7,x", "0", "-1"):
        with pytest.raises(SettingsError):
            Settings.from_env({"CAREPAY_REMINDER_DAYS": bad})
