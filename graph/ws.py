"""graphql-transport-ws details Strawberry leaves to us: the connection token and keep-alive."""

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from typing import Any

from graphql import GraphQLError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from graph.auth import AuthError, authenticate
from graph.cohorts import Cohorts, Send
from graph.context import Context
from graph.loaders import Loaders
from graph.sharing import Sharing, parsed, sharing
from models.validation import redact_card_numbers
from resolvers.event_log import last_id

log = logging.getLogger(__name__)
VARIABLES_MESSAGE = "The operation's variables must be a JSON object."


def connection_token(params: dict[str, Any]) -> str | None:
    """The `authorization` value of a connection_init payload ("Bearer ..."), if any."""
    for key in ("authorization", "Authorization"):
        value = params.get(key)
        if isinstance(value, str):
            return value
    return None


class KeepAliveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """The protocol handler, plus keep-alive pings, sign-ins kept current, and cohorts.

    Strawberry sends keep-alives only on the legacy graphql-ws protocol; idle
    graphql-transport-ws sockets would otherwise be cut by proxies: a `ping` goes out
    every `keep_alive_interval` once acknowledged. A socket lives for hours, so its
    sign-in is checked again before each operation and with each ping: the member's
    current access replaces the one read at connection_init, and a token that has
    expired, a member who is gone, or staff no longer staff closes the socket with 4403,
    as a bad token at connection_init does. Payment subscriptions that would get the
    same frames as others join a cohort (graph/cohorts.py), resumed ones once they have
    caught up.
    """

    pinger: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.pinger is None and self.view.keep_alive:
            self.pinger = asyncio.create_task(self._ping(), name="carepay-ws-ping")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: object = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            # Strawberry reads it as a mapping with a query: anything else killed the socket.
            await self.handle_invalid_message("Invalid subscribe payload")
            return
        if self.connection_acknowledged and not await self._still_signed_in():
            return
        query = payload["query"]
        settings = getattr(self.view, "settings", None)
        if settings is not None:
            try:
                parsed(query, settings.max_tokens)
            except GraphQLError as exc:
                # As Strawberry closes on a syntax error, but under the token limit (its
                # own parse runs without one here) and without echoing a card number.
                await self.websocket.close(code=4400, reason=_close_reason(exc.message))
                return
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            # Strawberry would run it and fail inside graphql-core, with a message of its own.
            error = GraphQLError(VARIABLES_MESSAGE, extensions={"code": "BAD_USER_INPUT"})
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        cohorts: Cohorts | None = getattr(self.view, "cohorts", None)
        cap = self.max_subscriptions_per_connection
        shared = None
        if (
            cohorts is not None
            and self.connection_acknowledged
            and message["id"] not in self.operations
            and (cap is None or len(self.operations) < cap)
        ):
            shared = sharing(self.context, dict(message["payload"]))
            if shared is not None and shared.after is not None and not await _behind(shared.after):
                shared = None  # refused, or failed, the ordinary way: in its own operation
        if cohorts is None or shared is None:
            await super().handle_subscribe(message)  # also every refusal of the protocol
            return
        payload = message["payload"]
        operation = Operation(
            self,
            message["id"],
            payload["query"],
            payload.get("variables"),
            payload.get("operationName"),
        )
        operation.task = asyncio.create_task(self._member(cohorts, shared, operation))
        operation.task.add_done_callback(self._task_done)
        self.operations[message["id"]] = operation

    async def _member(
        self, cohorts: Cohorts, shared: Sharing, operation: Operation[Context, None]
    ) -> None:
        send: Send = operation.send_operation_message  # type: ignore[assignment]
        try:
            await cohorts.serve(shared, self.context, operation.id, send)
        except Exception as error:  # as Strawberry's own operations end on one
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await send({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        # Strawberry closes the socket quoting an unknown operationName or a syntax
        # error's token; a card number written there must not come back.
        reason = BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)
        return None if reason is None else _close_reason(reason)

    async def handle_invalid_message(self, error_message: str) -> None:
        await super().handle_invalid_message(_close_reason(error_message))

    async def handle_task_exception(self, error: Exception) -> None:
        """A peer that vanished mid-send (killed, network gone) is routine, not an error."""
        if isinstance(error, WebSocketDisconnected):
            log.debug("subscriber went away mid-send")
            return
        await super().handle_task_exception(error)

    async def _still_signed_in(self) -> bool:
        """Sign the socket in again with its connection_init token: the viewer's current
        access, and DataLoaders that remember nothing; False once the socket is closed
        because the sign-in no longer holds. If the database cannot answer, the sign-in
        stands until the next check."""
        context = self.context
        settings = getattr(self.view, "settings", None)
        if settings is None or context.viewer is None:
            return True
        try:
            viewer = await authenticate(settings, connection_token(context.connection_params))
        except AuthError as exc:
            reason = str(exc)
        except Exception:
            log.warning("could not check a WebSocket's sign-in again", exc_info=True)
            return True
        else:
            if viewer.is_staff == context.viewer.is_staff:
                context.viewer = viewer
                context.loaders = Loaders(enabled=context.loaders.enabled)
                return True
            reason = "Your role has changed: sign in again"
        log.info("WebSocket closed: %s", reason)
        await self.websocket.close(code=4403, reason=reason)
        return False

    async def _ping(self) -> None:
        interval = float(self.view.keep_alive_interval or 15)
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                if not await self._still_signed_in():
                    return
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pinger
        await super().shutdown()


async def _behind(after: int) -> bool:
    """Whether an outbox id is at or behind the newest event (False if the database
    cannot say: this runs in the socket's message loop, which must not fail)."""
    try:
        return after <= await last_id()
    except Exception:
        log.warning("could not read the newest outbox id", exc_info=True)
        return False


def _close_reason(text: str) -> str:
    """A close frame's reason: no card number, and within the 123 bytes a frame allows."""
    encoded = redact_card_numbers(text).encode()
    if len(encoded) <= _REASON_BYTES:
        return encoded.decode()
    return encoded[: _REASON_BYTES - 3].decode(errors="ignore") + "…"  # "…" is 3 bytes


_REASON_BYTES = 123
# One encoder for every message: json.dumps with separators builds a new one per call.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class FrameEncoder:
    """JSON for outgoing messages, encoding a result's data once for every subscriber sharing it.

    Subscribers that share an event's execution (graph/shared_execution.py) get the very
    same `data` object; its JSON is kept for the few most recent such objects (the
    entry holds the object, so its id cannot be reused while cached).
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._encoded: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def __call__(self, message: object) -> str:
        if not (isinstance(message, dict) and message.get("type") == "next"):
            return _dumps(message)
        payload = message.get("payload")
        if not (isinstance(payload, dict) and payload.keys() == {"data"}):
            return _dumps(message)
        data = payload["data"]
        cached = self._encoded.get(id(data))
        if cached is None or cached[0] is not data:
            cached = (data, _dumps(data))
            self._encoded[id(data)] = cached
            while len(self._encoded) > self._size:
                self._encoded.popitem(last=False)
        op_id = _dumps(message.get("id"))
        return f'{{"id":{op_id},"type":"next","payload":{{"data":{cached[1]}}}}}'
