"""Mutation mixins, one per area; graph/mutation.py composes them into the root type."""

from graph.mutations.autopay import AutopayMutations
from graph.mutations.methods import PaymentMethodMutations
from graph.mutations.notifications import NotificationMutations
from graph.mutations.payments import PaymentMutations

__all__ = [
    "AutopayMutations",
    "NotificationMutations",
    "PaymentMethodMutations",
    "PaymentMutations",
]
