"""Member: a person who signs in and pays, as others see them on a payment."""

import strawberry

import models


@strawberry.type(description="A person who pays bills: how they appear on a payment.")
class Member:
    model: strawberry.Private[models.Member]

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def email(self) -> str:
        return self.model.email
