"""Subscribers that would get the same result for an event share one execution of it.

Every subscriber of a payment event runs its selection against the event. When two
have the same document, operation, variables and viewer (member, role and access),
their results are equal, so the first executes and the others await its result: a
thousand dashboards of one staff member, or one member's many tabs, cost one
execution per event instead of a thousand. Anything else (queries, mutations,
subscriptions of different viewers) executes as usual.
"""

import json
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.context import Context
from graph.eager import eager_future
from graph.types.event import PaymentEvent
from resolvers.memo import awaited


def _sharing_key(execution: StrawberryGraphQLCoreExecutionContext) -> tuple[object, ...] | None:
    root = execution.root_value
    context = execution.context_value
    operation = execution.operation
    if not isinstance(root, PaymentEvent) or not isinstance(context, Context):
        return None
    viewer = context.viewer
    if viewer is None or context.events is None or operation.loc is None:
        return None
    access = None
    if viewer.access is not None:
        access = tuple(sorted((account, role.value) for account, role in viewer.access.items()))
    variables = json.dumps(execution.variable_values.coerced, sort_keys=True, default=str)
    name = operation.name.value if operation.name else None
    document = operation.loc.source.body
    return ("PaymentEvent", root.event.id, document, name, variables, viewer.member.id, access)


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, sharing the execution of one event between equals."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = _sharing_key(self)
        if key is None:
            return super().execute_operation(serially)
        shared = self.context_value.require_events().shared
        future = shared.get(key)
        if future is None:
            outcome = super().execute_operation(serially)
            if not self.is_awaitable(outcome):
                return outcome
            # Run at once: with the event's rows loaded ahead (resolvers/events.py) the
            # execution finishes without waiting, and so does every subscriber's after it.
            future = shared.start(key, eager_future(_result(outcome)))
        if future.done() and future.exception() is None:
            return future.result()  # the usual case: no await, no task
        return awaited(future)


async def _result(outcome: Any) -> ExecutionResult:
    result: ExecutionResult = await outcome
    return result
