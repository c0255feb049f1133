"""Member: a person who signs in and pays, as others see them on a payment."""

import strawberry

import models
from graph.context import Info


@strawberry.type(description="A person who pays bills: how they appear on a payment.")
class Member:
    model: strawberry.Private[models.Member]

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="Shown to the member themself and to staff only.")
    def email(self, info: Info) -> str | None:
        if info.context.require_viewer().can_see_member(self.model.id):
            return self.model.email
        return None
