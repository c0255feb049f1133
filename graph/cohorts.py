"""Cohorts: live subscriptions that would receive the same frames share one stream.

A live payment subscription (no `after`) of a given document, variables and viewer
(member, role, access) produces the same results for every socket that opens it: a
wall of dashboards on one staff account, a member's phone and laptop. Such sockets
join one cohort, which runs a single Strawberry stream (so replay, per-event access
checks and execution happen once) and hands each result to every member in turn (the
results of one outbox batch together, so each member's frames leave back to back). A
member sends at once while its socket takes the frame without waiting (the usual
case: no task wake-up per member and frame); a send that has to wait goes on in a
task of its own, and the member's next results queue behind it, at most
`queue_size`. A member that falls further behind is ended with a SUBSCRIBER_LAGGING
error telling it to resubscribe with `after` (then it catches up from the outbox on
a stream of its own); the others never wait for it.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationType,
    VariableNode,
    parse,
)
from graphql.utilities import get_operation_ast
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from graph.context import Context
from graph.eager import start_eagerly
from graph.loaders import Loaders

log = logging.getLogger(__name__)

SHAREABLE_FIELDS = frozenset({"paymentEvents", "paymentStatusFeed"})
Key = tuple[object, ...]
Message = dict[str, Any]
Send = Callable[[Message], Coroutine[Any, Any, None]]


@lru_cache(maxsize=256)
def _parsed(query: str) -> DocumentNode | None:
    try:
        return parse(query)
    except GraphQLError:
        return None  # the ordinary path reports it


def _live_only(field: FieldNode, variables: dict[str, Any]) -> bool:
    for argument in field.arguments or ():
        if argument.name.value != "after":
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value) is None
        return isinstance(value, NullValueNode)
    return True


def cohort_key(context: Context, payload: dict[str, Any]) -> Key | None:
    """Who else would get exactly these frames: None when the subscription runs alone."""
    viewer = context.viewer
    query = payload.get("query")
    variables = payload.get("variables") or {}
    name = payload.get("operationName")
    if viewer is None or context.events is None or not isinstance(query, str):
        return None
    document = _parsed(query)
    operation = None if document is None else get_operation_ast(document, name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return None
    fields = operation.selection_set.selections
    if len(fields) != 1 or not isinstance(fields[0], FieldNode):
        return None
    if fields[0].name.value not in SHAREABLE_FIELDS or not _live_only(fields[0], variables):
        return None
    access = None
    if viewer.access is not None:
        access = tuple(sorted((account, role.value) for account, role in viewer.access.items()))
    encoded = json.dumps(variables, sort_keys=True, default=str)
    return (query, name, encoded, viewer.member.id, viewer.is_staff, access)


def _lagging(op_id: str) -> Message:
    text = (
        "Subscriber too slow: resubscribe with `after` set to the cursor of the last "
        "event you received"
    )
    error = {"message": text, "extensions": {"code": "SUBSCRIBER_LAGGING"}}
    return {"id": op_id, "type": "error", "payload": [error]}


class Member:
    """One socket's operation in a cohort: sends its messages in order, at once when it can.

    `ended` resolves once the last message (`complete` or `error`) is out, or with the
    exception of a send that failed.
    """

    def __init__(self, op_id: str, send: Send, *, queue_size: int) -> None:
        self.op_id = op_id
        self.queue_size = queue_size
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._send = send
        self._backlog: deque[Message] = deque()
        self._in_flight: asyncio.Task[None] | None = None
        self._in_flight_final = False

    def offer(self, message: Message) -> bool:
        """Send or queue a message; False when the member is to leave the cohort (it ended,
        or fell `queue_size` messages behind and now gets a lag error instead)."""
        if self.ended.done():
            return False
        if self._in_flight is None:
            self._deliver(message)
            return not self.ended.done()
        if len(self._backlog) < self.queue_size:
            self._backlog.append(message)
            return True
        self._backlog.clear()
        self._backlog.append(_lagging(self.op_id))
        return False

    def close(self) -> None:
        """Drop what is queued and stop a send still waiting (the member leaves)."""
        self._backlog.clear()
        if self._in_flight is not None:
            self._in_flight.cancel()
        if self.ended.done() and not self.ended.cancelled():
            self.ended.exception()  # retrieved: a failed send ends the member, not the process
        self.ended.cancel()

    def _deliver(self, message: Message) -> None:
        """Send messages, oldest first, while each goes out without waiting."""
        while True:
            try:
                in_flight = start_eagerly(self._send(message))
            except Exception as exc:
                self._end(exc)
                return
            final = message["type"] != "next"
            if in_flight is not None:
                self._in_flight, self._in_flight_final = in_flight, final
                in_flight.add_done_callback(self._sent)
                return
            if final:
                self._end(None)
                return
            if not self._backlog:
                return
            message = self._backlog.popleft()

    def _sent(self, in_flight: asyncio.Task[None]) -> None:
        self._in_flight = None
        if in_flight.cancelled():
            self._end(None)
        elif (exc := in_flight.exception()) is not None:
            self._end(exc)
        elif self._in_flight_final:
            self._end(None)
        elif self._backlog:
            self._deliver(self._backlog.popleft())

    def _end(self, exc: BaseException | None) -> None:
        if self.ended.done():
            return
        if exc is None:
            self.ended.set_result(None)
        else:
            self.ended.set_exception(exc)


class Cohort:
    """One stream whose every result goes to each member."""

    def __init__(self, registry: "Cohorts", key: Key, context: Context, payload: dict[str, Any]):
        self.registry = registry
        self.key = key
        self.members: set[Member] = set()
        # A context of its own: the first socket may leave while the others stay.
        self.context = dataclasses.replace(
            context, loaders=Loaders(enabled=context.loaders.enabled)
        )
        self.payload = payload
        self.task: asyncio.Task[None] | None = None
        self._pending: list[tuple[str, Any]] = []

    def start(self, schema: Any) -> None:
        """Run the stream in the background."""
        self.task = asyncio.create_task(self._run(schema), name="carepay-cohort")

    async def _run(self, schema: Any) -> None:
        try:
            source = await schema.stream(
                self.payload["query"],
                variable_values=self.payload.get("variables"),
                context_value=self.context,
                operation_name=self.payload.get("operationName"),
            )
            first = True
            async with aclosing(source):
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        self._broadcast("error", [e.formatted for e in result.errors or []])
                        return
                    first = False
                    if isinstance(result, ExecutionResult):
                        self._broadcast("next", _next_payload(result))
            self._broadcast("complete", None)
        except Exception:
            log.exception("cohort stream failed")
            self._broadcast("complete", None)
        finally:
            self.registry.dissolve(self)

    def _broadcast(self, kind: str, payload: Any) -> None:
        # Results that come out together (one outbox batch) go to each member together:
        # its frames leave back to back, and no member waits for everyone's first frame.
        self._pending.append((kind, payload))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for member in list(self.members):
            for kind, payload in pending:
                message: Message = {"id": member.op_id, "type": kind}
                if payload is not None:
                    message["payload"] = payload
                if not member.offer(message):
                    self.members.discard(member)
                    break


def _next_payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class Cohorts:
    """The cohorts of one process."""

    def __init__(self, schema: Any, *, queue_size: int) -> None:
        self.schema = schema
        self.queue_size = queue_size
        self._cohorts: dict[Key, Cohort] = {}

    @contextlib.contextmanager
    def joined(
        self, key: Key, context: Context, payload: dict[str, Any], op_id: str, send: Send
    ) -> Iterator[Member]:
        """Membership of the cohort for `key` (started if new) for as long as the block runs;
        `send` sends one of the member's messages on its socket."""
        cohort = self._cohorts.get(key)
        if cohort is None:
            cohort = self._cohorts[key] = Cohort(self, key, context, payload)
            cohort.start(self.schema)
        member = Member(op_id, send, queue_size=self.queue_size)
        cohort.members.add(member)
        try:
            yield member
        finally:
            cohort.members.discard(member)
            member.close()
            if not cohort.members and self._cohorts.get(key) is cohort:
                self.dissolve(cohort)

    def dissolve(self, cohort: Cohort) -> None:
        """Forget a cohort and stop its stream."""
        if self._cohorts.get(cohort.key) is cohort:
            del self._cohorts[cohort.key]
        if cohort.task is not None and cohort.task is not asyncio.current_task():
            cohort.task.cancel()

    def __len__(self) -> int:
        return len(self._cohorts)
