"""Viewer: the signed-in person."""

import strawberry

import models
from graph.context import Info
from graph.types.account import BillingAccount
from graph.types.common import Node, Role
from graph.types.method import PaymentMethod
from resolvers.accounts import viewer_accounts
from resolvers.methods import viewer_payment_methods


@strawberry.type(description="The signed-in person, their accounts and saved payment methods.")
class Viewer(Node):
    model: strawberry.Private[models.Member]

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def email(self) -> str:
        return self.model.email

    @strawberry.field
    def role(self) -> Role:
        return self.model.role

    @strawberry.field(description="Accounts the viewer holds or has proxy access to.")
    async def accounts(self, info: Info) -> list[BillingAccount]:
        found = await viewer_accounts(info.context.require_viewer())
        for account in found:
            info.context.loaders.account.prime(account.id, account)
        return [BillingAccount(model=a) for a in found]

    @strawberry.field(description="Saved cards and bank accounts, default first.")
    async def payment_methods(self, info: Info) -> list[PaymentMethod]:
        found = await viewer_payment_methods(info.context.require_viewer())
        return [PaymentMethod(model=m) for m in found]
