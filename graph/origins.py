"""Browsers may call the API, and open its WebSocket, only from allowed origins."""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def _same_origin(origin: str, headers: Headers) -> bool:
    host = headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


class OriginGuard:
    """Refuse browser requests and WebSocket handshakes whose Origin is not allowed.

    Requests without an Origin header (servers, CLIs, mobile apps) are not browsers'
    cross-site requests and pass; the page carepay serves itself is same-origin.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/") for o in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin and origin not in self.allowed and not _same_origin(origin, headers):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 4403, "reason": "origin"})
                    return
                response = JSONResponse(
                    {"errors": [{"message": f"Origin {origin} is not allowed"}]}, status_code=403
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
