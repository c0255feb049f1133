"""After a mutation the relay looks at the outbox at once, rather than at its next tick."""

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.context import Context


class WakeRelay(SchemaExtension):
    """Wake this worker's relay once a mutation has run (its transactions have committed)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if (
            isinstance(context, Context)
            and context.events is not None
            and self.execution_context.operation_type is OperationType.MUTATION
        ):
            context.events.relay.wake()
