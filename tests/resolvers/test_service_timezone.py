"""The service's days are CAREPAY_TIMEZONE's calendar days, not UTC's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.clock import FixedClock, local_date, set_clock, set_timezone, today
from models import Notification, Payment
from models.enums import BankAccountType, NotificationKind, PaymentStatus
from resolvers.access import load_viewer
from resolvers.autopay_charges import run_autopay
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.reminders import send_reminders
from resolvers.settlement import settle_due
from settings import Settings, SettingsError
from tests import factories

NEW_YORK = ZoneInfo("America/New_York")
SETTINGS = Settings.from_env({"CAREPAY_TIMEZONE": "America/New_York"})
DUE = date(2026, 12, 10)  # Thursday; autopay 3 days before: Monday December 7


@pytest.fixture
def new_york() -> Iterator[None]:
    set_timezone(NEW_YORK)
    yield
    set_timezone(UTC)


def test_an_evening_in_new_york_is_still_that_day(new_york: None) -> None:
    evening = datetime(2026, 12, 11, 2, 30, tzinfo=UTC)  # Dec 10, 21:30 in New York
    set_clock(FixedClock(evening))

    assert local_date(evening) == today() == date(2026, 12, 10)


def test_settings_name_the_zone_and_refuse_an_unknown_one() -> None:
    assert SETTINGS.zone == NEW_YORK
    assert Settings.from_env({}).timezone == "UTC"
    with pytest.raises(SettingsError, match="CAREPAY_TIMEZONE"):
        Settings.from_env({"CAREPAY_TIMEZONE": "Mars/Olympus_Mons"})


async def test_overdue_waits_for_the_day_after_due_in_the_service_zone(
    db: str, new_york: None
) -> None:
    alex = await factories.member()
    acct = await factories.account(alex)
    await factories.bill(acct, due_date=DUE, statement_date=date(2026, 11, 20))

    async def overdue_at(at: datetime) -> int:
        set_clock(FixedClock(at))
        report = await send_reminders(at, settings=SETTINGS)
        return report.sent[NotificationKind.BILL_OVERDUE]

    # 21:30 on the due date in New York is already the 11th in UTC: not overdue yet.
    assert await overdue_at(datetime(2026, 12, 11, 2, 30, tzinfo=UTC)) == 0
    # 01:00 on the 11th in New York.
    assert await overdue_at(datetime(2026, 12, 11, 6, 0, tzinfo=UTC)) == 1
    assert await Notification.filter(kind=NotificationKind.BILL_OVERDUE).count() == 1


async def test_autopay_charges_on_the_charge_day_in_the_service_zone(
    db: str, new_york: None
) -> None:
    alex = await factories.member()
    acct = await factories.account(alex)
    await factories.autopay(alex, acct, await factories.card(alex, token="tok_visa"))
    await factories.bill(acct, due=12_000, due_date=DUE, statement_date=date(2026, 11, 20))

    async def charge_at(at: datetime) -> int:
        set_clock(FixedClock(at))
        await send_reminders(at, settings=SETTINGS)
        await run_autopay(at)
        return await Payment.all().count()

    # Monday 00:30 UTC is Sunday evening in New York: the charge day has not come.
    assert await charge_at(datetime(2026, 12, 7, 0, 30, tzinfo=UTC)) == 0
    # Monday 09:00 in New York.
    assert await charge_at(datetime(2026, 12, 7, 14, 0, tzinfo=UTC)) == 1


async def test_an_ach_debit_counts_banking_days_from_its_day_in_the_service_zone(
    db: str, new_york: None
) -> None:
    friday_evening = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Friday 21:00 in New York
    set_clock(FixedClock(friday_evening))
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=20_000)
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    bank = BankAccount("110000000", "000123456789", BankAccountType.CHECKING, "Alex Rivera")
    method = await add_bank_account(viewer=viewer, account=bank)

    payment = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=12_000, method_id=method.id, idempotency_key="k"
    )

    # A Friday payment in New York: Monday and Tuesday, then Tuesday 21:00 there. On UTC
    # dates it would have been a Saturday payment, settling a day earlier.
    assert payment.status is PaymentStatus.PROCESSING
    assert payment.settle_after == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert (await settle_due(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))).settled == []
    assert (await settle_due(payment.settle_after)).settled == [payment.id]
