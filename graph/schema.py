"""Schema assembly: types, and the safety extensions that depend on the environment."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from graph.errors import ErrorCodes, RequireSignIn, masked_errors
from graph.lean_fields import lean_resolvers
from graph.lean_inputs import lean_inputs
from graph.mutation import Mutation
from graph.query import Query
from graph.query_cost import QueryCostLimiter, expanded_fields_rule
from graph.redaction import CarepaySchema
from graph.relay_wakeup import WakeRelay
from graph.scalars import PlainDecimal, UtcDateTime
from graph.shared_execution import SharedEventExecution
from graph.subscription import Subscription
from graph.types.account import BillingAccount
from graph.types.autopay import AutopayEnrollment
from graph.types.bill import Bill
from graph.types.method import PaymentMethod
from graph.types.notification import Notification
from graph.types.payment import Payment
from graph.types.viewer import Viewer
from settings import Settings

NODE_TYPES = [BillingAccount, Bill, Payment, PaymentMethod, Notification, AutopayEnrollment, Viewer]


def build_schema(
    settings: Settings, *, caches: bool = True, lean: bool = True
) -> strawberry.Schema:
    """The GraphQL schema with limits, caches and (in production) masking and no introspection;
    `lean`: plain fields resolve directly (graph/lean_fields.py)."""
    # The limits' rule classes are made once: the validation cache is keyed by the rules,
    # and classes made afresh per request would make every request miss it.
    limit_rules = [
        expanded_fields_rule(settings.max_query_cost),  # before the rules that walk spreads
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        RequireSignIn,
        lambda: AddValidationRules(limit_rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: QueryCostLimiter(max_cost=settings.max_query_cost),
        ErrorCodes,
        WakeRelay,
    ]
    if caches:
        # Fresh instances per request; Strawberry keeps the LRU caches at module level.
        extensions += [lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)]
    if settings.production:
        extensions += [DisableIntrospection, masked_errors]
    schema = CarepaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        execution_context_class=SharedEventExecution,
        scalar_overrides={Decimal: PlainDecimal, datetime: UtcDateTime},
    )
    if lean:
        lean_resolvers(schema)
    # Input classes build from a plan (graph/lean_inputs.py); it is set on the classes
    # themselves, so it holds for every schema, lean or not.
    lean_inputs(schema)
    return schema
