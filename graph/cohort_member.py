"""One socket's subscription in a cohort (graph/cohorts.py): its messages, in order.

A member sends at once while its socket takes the frame without waiting (the usual
case: no task wake-up per member and frame). A send that has to wait goes on in a task
of its own, and the member's next messages queue behind it, at most `queue_size`. A
member offered more than that leaves the cohort: once what it has is sent, it goes on
with a stream of its own from the last event it took (`position`), at its own pace.

A member that resumes with `after` holds what the cohort offers (with each event's
outbox id) while it catches up by itself, then releases it less what the catch-up
covered. Holding more than `queue_size` makes it leave the cohort the same way.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from graph.eager import start_eagerly

log = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[Message], Coroutine[Any, Any, None]]


class Member:
    """`ended` resolves once the last message (`complete` or `error`) is out, once a member
    that left (`detached`) has sent what it had, or with the exception of a failed send."""

    def __init__(self, op_id: str, send: Send, *, queue_size: int, holding: bool = False) -> None:
        self.op_id = op_id
        self.queue_size = queue_size
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.detached = False
        self.position: int | None = None  # the outbox id of the last event it took
        self._send = send
        self._backlog: deque[Message] = deque()
        self._in_flight: asyncio.Task[None] | None = None
        self._in_flight_final = False
        self._held: list[tuple[int | None, Message]] | None = [] if holding else None

    def offer(self, message: Message, position: int | None = None) -> bool:
        """Send or queue a message (of the event at outbox id `position`, if any); False when
        the member leaves the cohort (it ended, or it is too far behind)."""
        if self.ended.done() or self.detached:
            return False
        if self._held is not None:
            if len(self._held) < self.queue_size:
                self._held.append((position, message))
                return True
            self._fall_behind()
            return False
        if self._in_flight is None:
            self._took(position)
            self._deliver(message)
            return not self.ended.done()
        if len(self._backlog) < self.queue_size:
            self._took(position)
            self._backlog.append(message)
            return True
        self._fall_behind()  # `ended` once the backlog is out
        return False

    async def send_ahead(self, message: Message) -> bool:
        """Send a message of the member's own stream, ahead of what it holds; False if the
        member ended (the send failed, or the message was its last)."""
        if self.ended.done():
            return False
        try:
            await self._send(message)
        except Exception as exc:
            self._end(exc)
            return False
        if message["type"] != "next":
            self._end(None)
        return not self.ended.done()

    def release(self, upto: int) -> None:
        """Stop holding: send what the cohort offered meanwhile, less the events up to outbox
        id `upto` (the catch-up sent those)."""
        held, self._held = self._held or [], None
        self.position = upto
        for position, message in held:
            if position is not None and position <= upto:
                continue
            if not self.offer(message, position):
                return
        if self.detached and self._in_flight is None:
            self._end(None)

    def close(self) -> None:
        """Drop what is queued and stop a send still waiting (the member leaves)."""
        self._backlog.clear()
        if self._in_flight is not None:
            self._in_flight.cancel()
        if self.ended.done() and not self.ended.cancelled():
            self.ended.exception()  # retrieved: a failed send ends the member, not the process
        self.ended.cancel()

    def leave(self) -> None:
        """Leave the cohort: take nothing more, and once what it took is sent, end (to go on
        alone from `position`). What it holds is dropped: its own stream reads it again."""
        self.detached = True
        if self._held is not None:
            self._held.clear()
        elif self._in_flight is None:
            self._end(None)

    def _fall_behind(self) -> None:
        log.warning(
            "a subscriber fell %d messages behind its cohort; it goes on alone from the outbox",
            self.queue_size,
        )
        self.leave()

    def _took(self, position: int | None) -> None:
        if position is not None:
            self.position = position

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
                if self.detached:
                    self._end(None)
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
        elif self.detached:
            self._end(None)

    def _end(self, exc: BaseException | None) -> None:
        if self.ended.done():
            return
        if exc is None:
            self.ended.set_result(None)
        else:
            self.ended.set_exception(exc)
