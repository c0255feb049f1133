"""One scheduler run: reminders before autopay, every job reported, a failing job isolated."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from adapters.clock import FixedClock, set_clock
from models import Notification, Payment
from models.enums import NotificationKind
from resolvers import scheduler
from settings import Settings
from tests import factories


async def test_the_charge_day_run_reminds_then_charges(db: str) -> None:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    await factories.autopay(jordan, acct, await factories.card(jordan, token="tok_mastercard"))
    bill = await factories.bill(acct, due_date=date(2026, 12, 10))
    at = datetime.combine(date(2026, 12, 7), time(9), UTC)
    set_clock(FixedClock(at))

    report = await scheduler.run_once(at, settings=Settings.from_env({}))

    assert report.errors == []
    assert report.autopay is not None and len(report.autopay.charged) == 1
    upcoming = await Notification.get(kind=NotificationKind.AUTOPAY_UPCOMING)
    confirmation = await Notification.get(kind=NotificationKind.PAYMENT_CONFIRMATION)
    assert upcoming.id < confirmation.id and upcoming.bill_id == bill.id
    assert await Payment.filter(bill_id=bill.id).count() == 1
    text = str(report)
    assert "autopay: 1 charged" in text and "AUTOPAY_UPCOMING 1" in text


async def test_a_failing_job_is_reported_and_the_others_still_run(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(at: datetime, *, settings: Settings) -> None:
        raise RuntimeError("reminders are broken")

    monkeypatch.setattr(scheduler, "send_reminders", broken)
    at = datetime(2026, 12, 7, 9, tzinfo=UTC)

    report = await scheduler.run_once(at, settings=Settings.from_env({}))

    assert report.errors == ["reminders"]
    assert report.autopay is not None and report.settlement is not None
    assert "reminders: FAILED" in str(report)
