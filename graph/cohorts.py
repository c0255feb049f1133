"""Cohorts: payment subscriptions that would receive the same frames share one stream.

Live payment subscriptions of one document, variables and viewer (graph/sharing.py) get
the same results, whatever socket opened them: a wall of dashboards on one staff
account, a member's phone and laptop. They join one cohort, which runs a single
Strawberry stream (so replay, per-event access checks and execution happen once) and
hands each result to every member (graph/cohort_member.py) in turn, the results of
one outbox batch together, so each member's frames leave back to back. A member that
falls too far behind leaves the cohort and goes on with a stream of its own from the
last event it took; the others never wait for it.

A subscription resumed with `after` joins the cohort at once, holding what the cohort
hands it, and catches up on a stream of its own up to the last event the cohort had
handed out when it joined (or the cohort's start). Then it sends what it held, less
the events its catch-up covered: every event once, none missed, and from then on it
costs what a live member costs.
"""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from graph.cohort_member import Member, Message, Send
from graph.context import Context
from graph.loaders import Loaders
from graph.sharing import Key, Sharing
from resolvers.event_log import last_id
from resolvers.event_stream import Window

log = logging.getLogger(__name__)

__all__ = ["Cohorts", "Member", "Send"]


async def results(
    schema: Any, payload: dict[str, Any], context: Context
) -> AsyncIterator[tuple[Message, int | None]]:
    """A subscription's `next` messages, or its one `error` (without `id`; no `complete`),
    each with the outbox id of the event it is the result of (from `context.window`).

    None for a `next` means it is no event's result: the stream failed (Strawberry reports
    an exception of the event source as one last result, and logs it).
    """
    window = context.window
    assert window is not None
    source = await schema.stream(
        payload["query"],
        variable_values=payload.get("variables"),
        context_value=context,
        operation_name=payload.get("operationName"),
    )
    first, last = True, None
    async with aclosing(source):
        async for result in source:
            if first and isinstance(result, PreExecutionError):
                yield {"type": "error", "payload": [e.formatted for e in result.errors or []]}, None
                return
            first = False
            if isinstance(result, ExecutionResult):
                # Every event moves the window on before it runs; a result that did not
                # follow a move is not an event's.
                position = window.position if window.position != last else None
                last = window.position
                yield {"type": "next", "payload": _next_payload(result)}, position


def _next_payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


def _own(context: Context, window: Window) -> Context:
    """A context for a stream of its own: the socket may go while the stream goes on."""
    return dataclasses.replace(
        context, loaders=Loaders(enabled=context.loaders.enabled), window=window
    )


class Cohort:
    """One stream whose every result goes to each member."""

    def __init__(self, registry: "Cohorts", key: Key, context: Context, payload: dict[str, Any]):
        self.registry = registry
        self.key = key
        self.members: set[Member] = set()
        self.window = Window()
        self.context = _own(context, self.window)
        self.payload = payload
        self.task: asyncio.Task[None] | None = None
        # The outbox id the stream starts after, once known (None: it never opened).
        self.opened: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending: list[tuple[Message, int | None]] = []

    def start(self, schema: Any) -> None:
        """Run the stream in the background."""
        self.task = asyncio.create_task(self._run(schema), name="carepay-cohort")

    def handed_out(self) -> int | None:
        """The outbox id of the last event the stream handed out (or of its start)."""
        return self.window.position if self.window.position is not None else self.window.start

    def handover_point(self) -> "asyncio.Future[int | None]":
        """For a member joining now: the outbox id up to which it must catch up by itself.
        The cohort hands it every later event (and perhaps some earlier ones)."""
        point = self.handed_out()
        if point is None:
            return self.opened  # nothing handed out yet: every event after the start is to come
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        done.set_result(point)
        return done

    async def _run(self, schema: Any) -> None:
        try:
            self.window.start = await last_id()
            self.opened.set_result(self.window.start)
            async with aclosing(results(schema, self.payload, self.context)) as messages:
                async for message, position in messages:
                    if message["type"] == "error":  # refused before it started: so is everyone
                        self._broadcast(message, None)
                        return
                    if position is None:
                        log.warning("a cohort's stream failed; its members go on alone")
                        break
                    self._broadcast(message, position)
                else:
                    log.warning("a cohort's stream ended; its members go on alone")
            self._fail()
        except Exception:
            log.exception("a cohort's stream failed; its members go on alone")
            self._fail()
        finally:
            if not self.opened.done():
                self.opened.set_result(None)
            self.registry.dissolve(self)

    def _fail(self) -> None:
        """Every member leaves, to go on alone from the last event it took."""
        for member in self.members:
            member.leave()
        self.members.clear()

    def _broadcast(self, message: Message, position: int | None) -> None:
        # Results that come out together (one outbox batch) go to each member together:
        # its frames leave back to back, and no member waits for everyone's first frame.
        self._pending.append((message, position))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for member in list(self.members):
            for message, position in pending:
                if not member.offer({"id": member.op_id, **message}, position):
                    self.members.discard(member)
                    break


class Cohorts:
    """The cohorts of one process."""

    def __init__(self, schema: Any, *, queue_size: int) -> None:
        self.schema = schema
        self.queue_size = queue_size
        self._cohorts: dict[Key, Cohort] = {}

    async def serve(self, sharing: Sharing, context: Context, op_id: str, send: Send) -> None:
        """Run one subscription in its cohort until it ends; `send` sends one message on the
        socket. Raises what a failed send raised."""
        async with self._joined(sharing, context, op_id, send) as (member, point):
            if sharing.after is not None:
                await self._catch_up(member, sharing, context, point)
            await member.ended
            detached, start = member.detached, member.position
            if start is None and point.done():
                start = point.result()  # it joined before the cohort opened, and took nothing
        if detached:  # it fell behind, or the cohort's stream failed
            await self._go_on_alone(sharing, context, op_id, send, start)

    @contextlib.asynccontextmanager
    async def _joined(
        self, sharing: Sharing, context: Context, op_id: str, send: Send
    ) -> AsyncIterator[tuple[Member, "asyncio.Future[int | None]"]]:
        cohort = self._cohorts.get(sharing.key)
        if cohort is None:
            cohort = self._cohorts[sharing.key] = Cohort(self, sharing.key, context, sharing.live)
            cohort.start(self.schema)
        member = Member(op_id, send, queue_size=self.queue_size, holding=sharing.after is not None)
        member.position = cohort.handed_out()
        point = cohort.handover_point()  # in the same step as joining
        cohort.members.add(member)
        try:
            yield member, point
        finally:
            cohort.members.discard(member)
            member.close()
            if not cohort.members and self._cohorts.get(sharing.key) is cohort:
                self.dissolve(cohort)

    async def _catch_up(
        self,
        member: Member,
        sharing: Sharing,
        context: Context,
        point: "asyncio.Future[int | None]",
    ) -> None:
        """Send the subscription's events up to the handover point, then what the member held."""
        assert sharing.after is not None
        upto = await asyncio.shield(point)
        if upto is None:  # the cohort's stream never opened: the member goes on alone
            member.release(sharing.after)
            return
        sent = sharing.after
        own = _own(context, Window(until=upto))
        async with aclosing(results(self.schema, sharing.payload, own)) as messages:
            async for message, position in messages:
                if message["type"] == "next" and position is None:
                    member.leave()  # the catch-up failed: on alone from the last event sent
                    member.release(sent)
                    return
                if not await member.send_ahead({"id": member.op_id, **message}):
                    return
                if position is not None:
                    sent = position
        member.release(max(upto, sharing.after))

    async def _go_on_alone(
        self, sharing: Sharing, context: Context, op_id: str, send: Send, start: int | None
    ) -> None:
        """The subscription on a stream of its own, after outbox id `start` (None: live; a
        live member that took nothing before its cohort failed)."""
        own = _own(context, Window(start=start))
        async with aclosing(results(self.schema, sharing.payload, own)) as messages:
            async for message, _ in messages:
                await send({"id": op_id, **message})
                if message["type"] != "next":
                    return
        await send({"id": op_id, "type": "complete"})

    def dissolve(self, cohort: Cohort) -> None:
        """Forget a cohort and stop its stream."""
        if self._cohorts.get(cohort.key) is cohort:
            del self._cohorts[cohort.key]
        if cohort.task is not None and cohort.task is not asyncio.current_task():
            cohort.task.cancel()

    def __len__(self) -> int:
        return len(self._cohorts)
