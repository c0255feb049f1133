"""The ASGI app: GraphQL over HTTP and WebSocket, health checks, and the lifespan."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from adapters.clock import set_timezone
from graph import build_schema
from graph.auth import AuthError, authenticate
from graph.cohorts import Cohorts
from graph.context import Context
from graph.dashboard import dashboard_routes
from graph.loaders import Loaders
from graph.origins import OriginGuard
from graph.redaction import quiet_access_log
from graph.ws import FrameEncoder, KeepAliveHandler, connection_token
from models.db import check_db, close_db, init_db, sqlite_file
from models.health import database_status
from resolvers.events import EventHub, hub_for
from resolvers.scheduler_loop import SchedulerLoop
from resolvers.to_the_end import finish_in_flight
from settings import Settings

log = logging.getLogger(__name__)

# Net new container objects between two collections of the youngest generation (the
# interpreter's default is 700); the older generations keep the defaults.
GC_THRESHOLDS = (10_000, 10, 10)
# How long shutdown waits for payments, cancellations and refunds still running (their
# callers may have left); resolvers/to_the_end.py says what becomes of any cut off.
PAYMENTS_GRACE_SECONDS = 10.0


def quiet_collector() -> None:
    """Keep the cycle collector off the long-lived heap, and let it run less often.

    Everything alive once the worker has started (modules, the schema, the database
    pool) lives as long as the worker: frozen, the collector no longer walks it. Under
    payBill load with the defaults, full collections walked all of it every second or
    two, each stalling every request in flight for 76-106 ms, and the collector took
    9-13% of the worker's CPU; after this, 3%, with pauses under 20 ms
    (bench/bench_gc.py; figures in bench/RESULTS.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _finish(scheduler: SchedulerLoop) -> None:
    """At shutdown, the scheduler's current run and the requests in flight finish side
    by side (no new run starts meanwhile); requests that outlive the grace are cut off.
    A failure of either is logged, not raised: the database must still be closed."""
    outcomes = await asyncio.gather(
        finish_in_flight(PAYMENTS_GRACE_SECONDS),
        scheduler.stop(PAYMENTS_GRACE_SECONDS),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            log.error("shutdown: %r", outcome, exc_info=outcome)


class CarepayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with carepay's context and authentication."""

    graphql_transport_ws_handler_class = KeepAliveHandler

    def __init__(
        self,
        settings: Settings,
        *,
        loaders: bool = True,
        caches: bool = True,
        events: EventHub | None = None,
    ) -> None:
        super().__init__(
            build_schema(settings, caches=caches),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=settings.allow_get_queries,
            keep_alive=True,
            keep_alive_interval=settings.ws_keep_alive_seconds,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.loaders_enabled = loaders
        self.events = events or hub_for(settings)
        self.encode_frame = FrameEncoder()
        self.cohorts = Cohorts(self.schema, queue_size=settings.subscription_queue_size)

    def encode_json(self, data: object) -> str:
        """JSON for responses and WebSocket messages (shared subscription results once)."""
        return self.encode_frame(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            settings=self.settings,
            viewer=None,
            loaders=Loaders(enabled=self.loaders_enabled),
            request=request,
            response=response,
            events=self.events,
        )
        if isinstance(request, Request):
            try:
                context.viewer = await authenticate(
                    self.settings, request.headers.get("authorization")
                )
            except AuthError as exc:
                context.auth_error = str(exc)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sign the socket in with the connection_init token; close it with 4403 otherwise."""
        try:
            token = connection_token(context.connection_params)
            context.viewer = await authenticate(self.settings, token)
        except AuthError as exc:
            log.info("WebSocket refused: %s", exc)
            raise ConnectionRejectionError({"message": str(exc)}) from None
        unset: UnsetType = UNSET
        return unset


async def healthz(_: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(_: Request) -> JSONResponse:
    """The database answers and its migrations are current."""
    status = await database_status()
    return JSONResponse(status, status_code=200 if status["status"] == "ready" else 503)


def create_app(settings: Settings | None = None, **graphql_options: Any) -> Starlette:
    """Build the ASGI app from settings (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    quiet_access_log()
    set_timezone(settings.zone)
    graphql = CarepayGraphQL(settings, **graphql_options)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await init_db(settings.database_url)
        if sqlite_file(settings.database_url) is not None:
            # A SQLite file that cannot be opened will not open later, and after the
            # failure every use of it hangs: the start fails instead (DatabaseUnreachable).
            # A PostgreSQL server that is down is waited for, /readyz answering 503.
            await check_db()
        status = await database_status()
        if status["status"] != "ready":
            log.error("database not ready: %s (run `carepay migrate`)", status)
        scheduler = SchedulerLoop(settings)
        if settings.scheduler_enabled:
            scheduler.start()
        await graphql.events.start()
        quiet_collector()
        try:
            yield
        finally:
            try:
                await _finish(scheduler)
            finally:
                await graphql.events.stop()
                await close_db()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *dashboard_routes(),
        ],
        middleware=[
            Middleware(OriginGuard, allowed=settings.allowed_origins),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
