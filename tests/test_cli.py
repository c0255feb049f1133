"""`carepay scheduler run-once`: the counts, then a line per settlement, charge, skip and notice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from adapters.clock import FixedClock, set_clock
from models import Payment, PaymentMethod
from models.enums import BankAccountType
from resolvers.access import load_viewer
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.scheduler import run_once
from resolvers.scheduler_digest import digest
from settings import Settings
from tests import factories
from tests.e2e.server import BASE_ENV, ROOT, carepay

DUE = date(2026, 12, 10)
CYCLE = date(2026, 12, 7)


def line_of(output: str, *parts: str) -> str:
    """The one output line holding every part."""
    (found,) = [line for line in output.splitlines() if all(p in line for p in parts)]
    return found


async def test_run_once_prints_each_charge_skip_and_notice(db: str) -> None:
    set_clock(FixedClock(datetime(2026, 11, 15, 9, tzinfo=UTC)))
    jo = await factories.member()
    paying, stale = await factories.account(jo), await factories.account(jo)
    await factories.autopay(jo, paying, await factories.card(jo))
    old_card = await factories.card(jo)
    await PaymentMethod.filter(id=old_card.id).update(exp_month=11, exp_year=2026)
    await factories.autopay(jo, stale, old_card)
    charged = await factories.bill(paying, due=12_000, due_date=DUE, statement_date=CYCLE)
    skipped = await factories.bill(stale, due=7_000, due_date=DUE, statement_date=CYCLE)
    env = {**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": db}

    output = carepay("scheduler", "run-once", "--at", f"{CYCLE}T09:00:00+00:00", env=env)

    assert "autopay: 1 charged, 0 failed, 1 skipped" in output
    assert "$120.00  charged" in line_of(output, "autopay", charged.statement_number)
    assert "skipped: PAYMENT_METHOD_EXPIRED" in line_of(output, "autopay", skipped.statement_number)
    upcoming = line_of(output, "notice", charged.statement_number, "AUTOPAY_UPCOMING")
    assert f"$120.00  AUTOPAY_UPCOMING to member {jo.id}" in upcoming
    assert "$70.00  AUTOPAY_FAILED" in line_of(output, "notice", skipped.statement_number, "FAILED")
    statements = line_of(output, "notice", charged.statement_number, "STATEMENT_AVAILABLE")
    assert "$120.00" in statements


async def test_the_digest_names_each_ach_settlement_and_return(db: str) -> None:
    set_clock(FixedClock(datetime.combine(CYCLE, time(9), UTC)))
    alex = await factories.member()
    acct = await factories.account(alex)
    viewer = await load_viewer(alex.email, "member")
    assert viewer is not None
    bills = [await factories.bill(acct, due=15_000, statement_date=CYCLE) for _ in range(2)]
    for bill, number in zip(bills, ("000123456789", "000111111116"), strict=True):
        bank = BankAccount("110000000", number, BankAccountType.CHECKING, "Alex")
        method = await add_bank_account(viewer=viewer, account=bank)
        await pay_bill(
            viewer=viewer,
            bill_id=bill.id,
            amount=15_000,
            method_id=method.id,
            idempotency_key=f"ach-{bill.id}",
        )
    later = datetime.combine(CYCLE + timedelta(days=7), time(9), UTC)
    set_clock(FixedClock(later))

    lines = await digest(await run_once(later, settings=Settings.from_env({})))

    settled, returned = bills
    assert "$150.00  succeeded" in line_of("\n".join(lines), "ach", settled.statement_number)
    assert "returned: ACH_RETURN_R01" in line_of("\n".join(lines), "ach", returned.statement_number)


async def test_a_run_once_ahead_of_the_real_time_keeps_the_keys_clients_still_hold(
    db: str,
) -> None:
    # given: a payment made now, under a key its client may retry for 30 days
    jo = await factories.member()
    bill = await factories.bill(await factories.account(jo), due=10_000)
    card = await factories.card(jo)
    viewer = await load_viewer(jo.email, "member")
    assert viewer is not None
    first = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=3_000, method_id=card.id, idempotency_key="k"
    )
    env = {**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": db}
    ahead = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    # when: an operator looks 40 days ahead
    carepay("scheduler", "run-once", "--at", ahead, env=env)
    # then: the key still answers the retry with the first payment
    again = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=3_000, method_id=card.id, idempotency_key="k"
    )
    assert again.id == first.id
    assert await Payment.filter(bill_id=bill.id).count() == 1


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["scheduler", "run-once", "--at", "0001-01-01T00:00:00+05:00"], {}, "years 2-9998"),
        (["scheduler", "run-once", "--at", "9999-12-31T23:00:00-05:00"], {}, "years 2-9998"),
        (["scheduler", "run-once", "--at", "9999-12-31T12:00:00+00:00"], {}, "years 2-9998"),
        (["scheduler", "run-once", "--at", "0001-06-01T00:00:00+00:00"], {}, "years 2-9998"),
        (["serve", "--port", "70000"], {}, "a port is 1 to 65535"),
        (["token", "a@example.org"], {"CAREPAY_MAX_TOKENS": "abc"}, "CAREPAY_MAX_TOKENS"),
    ],
)
def test_bad_arguments_and_settings_get_a_message_not_a_traceback(
    args: list[str], env: dict[str, str], said: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**os.environ, **BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2, done
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["scheduler", "run-once", "--at", "2026-11-20T09:00:00Z"],
        ["migrate"],
        ["serve", "--port", "18709"],  # it would start, and hang at its first query
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line_and_exit_1(
    tmp_path: Path, args: list[str]
) -> None:
    done = _cli(f"sqlite://{tmp_path}/no/such/folder/carepay.sqlite3", *args)

    assert done.returncode == 1, done
    # Its one line comes first. (aiosqlite's worker thread, started for the connection
    # that failed, can print "Event loop is closed" as the process exits, on a busy
    # machine: after the answer, and harmless.)
    assert done.stderr.startswith("carepay: the database (CAREPAY_DATABASE_URL) does not answer")


def test_a_server_that_is_down_is_one_line_and_exit_1() -> None:
    for args in (["migrate"], ["seed", "--demo", "--if-empty"]):
        done = _cli("postgres://postgres@127.0.0.1:1/carepay", *args)
        assert done.returncode == 1, done
        assert done.stderr.startswith("carepay: the database (CAREPAY_DATABASE_URL) does not")
        assert "Traceback" not in done.stderr


def test_seed_before_migrate_says_to_migrate_and_makes_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "carepay.sqlite3"
    done = _cli(f"sqlite://{missing}", "seed", "--demo", "--if-empty")
    assert (done.returncode, done.stderr) == (
        1,
        f"carepay: there is no database at {missing}: run `carepay migrate` first\n",
    )
    assert not missing.exists()

    unmigrated = tmp_path / "empty.sqlite3"
    unmigrated.touch()
    done = _cli(f"sqlite://{unmigrated}", "seed", "--demo", "--if-empty")
    assert (done.returncode, done.stderr) == (
        1,
        "carepay: the database is not migrated: run `carepay migrate` first\n",
    )
