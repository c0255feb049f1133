"""The Mutation root, composed from one mixin per area."""

import strawberry

from graph.mutations import (
    AutopayMutations,
    NotificationMutations,
    PaymentMethodMutations,
    PaymentMutations,
)


@strawberry.type(description="Every change goes through here; expected failures are in `errors`.")
class Mutation(PaymentMutations, PaymentMethodMutations, AutopayMutations, NotificationMutations):
    pass
