"""Per-request DataLoaders: one database round trip per level of a nested query."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from models import (
    AutopayEnrollment,
    Bill,
    BillingAccount,
    BillLineItem,
    Member,
    Payment,
    PaymentMethod,
)
from resolvers.accounts import Balance, accounts_by_ids, balances_for_accounts
from resolvers.autopay import autopay_for_accounts
from resolvers.bills import AccountBillsKey, bills_by_ids, bills_for_accounts, line_items_for_bills
from resolvers.history import payments_by_ids, payments_for_bills
from resolvers.members import members_by_ids
from resolvers.methods import methods_by_ids
from resolvers.pagination import Page

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def now_or_later(loader: DataLoader[K, V], key: K, wrap: Callable[[V], R]) -> Any:
    """`wrap` of the loader's value for `key`: at once if the loader already holds it (loaded
    ahead, graph/lookahead.py), else a coroutine that loads it (graphql-core awaits it)."""
    future = loader.cache_map.get(key) if loader.cache else None
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return wrap(future.result())
    return _later(loader, key, wrap)


async def _later(loader: DataLoader[K, V], key: K, wrap: Callable[[V], R]) -> R:
    return wrap(await loader.load(key))


def _loader(fn: Any, enabled: bool) -> Any:
    return DataLoader(load_fn=fn, cache=enabled, max_batch_size=None if enabled else 1)


@dataclass
class Loaders:
    """Every DataLoader of one request; `enabled=False` makes each load its own query."""

    enabled: bool = True
    account: DataLoader[int, BillingAccount | None] = field(init=False)
    balance: DataLoader[int, Balance] = field(init=False)
    bill: DataLoader[int, Bill | None] = field(init=False)
    bills_of_account: DataLoader[AccountBillsKey, Page[Bill]] = field(init=False)
    line_items: DataLoader[int, list[BillLineItem]] = field(init=False)
    payments_of_bill: DataLoader[int, list[Payment]] = field(init=False)
    payment: DataLoader[int, Payment | None] = field(init=False)
    method: DataLoader[int, PaymentMethod | None] = field(init=False)
    member: DataLoader[int, Member | None] = field(init=False)
    autopay: DataLoader[int, AutopayEnrollment | None] = field(init=False)

    def __post_init__(self) -> None:
        on = self.enabled
        self.account = _loader(accounts_by_ids, on)
        self.balance = _loader(balances_for_accounts, on)
        self.bill = _loader(bills_by_ids, on)
        self.bills_of_account = _loader(bills_for_accounts, on)
        self.line_items = _loader(line_items_for_bills, on)
        self.payments_of_bill = _loader(payments_for_bills, on)
        self.payment = _loader(payments_by_ids, on)
        self.method = _loader(methods_by_ids, on)
        self.member = _loader(members_by_ids, on)
        self.autopay = _loader(autopay_for_accounts, on)

    def forget(self) -> None:
        """Drop everything loaded so far (each mutation field does, first: see
        Context.begin_mutation)."""
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()
