"""The billing-office dashboard's built files at /dashboard, under a strict Content-Security-Policy.

The page is built from dashboard/ by `make dashboard` (npm ci, then esbuild) into
dashboard/dist. It talks only to this server: GraphQL over WebSocket at /graphql,
same origin, so OriginGuard admits it whatever CAREPAY_ALLOWED_ORIGINS says.
"""

import re
from pathlib import Path

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

BUILD_DIR = Path(__file__).resolve().parents[1] / "dashboard" / "dist"
NOT_BUILT = (
    "The dashboard is not built yet: run `make dashboard` (npm ci and the bundler), "
    "then reload this page.\n"
)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str) -> str:
    """Scripts, styles and images from this server only; sockets to this host only."""
    connect = "'self'"
    if _HOST.match(host):
        # 'self' covers ws: and wss: in current browsers; older ones need them spelled out.
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


class DashboardFiles:
    """Static files with security headers; a plain 503 while the build is missing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = content_security_policy(Headers(scope=scope).get("host", ""))

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cache-Control"] = "no-cache"
            await send(message)

        if not (self.directory / "index.html").is_file():
            await PlainTextResponse(NOT_BUILT, status_code=503)(scope, receive, send_secured)
            return
        try:
            await self.files(scope, receive, send_secured)
        except HTTPException as exc:  # 404, 405: answered here so they carry the headers too
            response = PlainTextResponse(exc.detail, status_code=exc.status_code)
            await response(scope, receive, send_secured)


def dashboard_routes(directory: Path | None = None) -> list[BaseRoute]:
    """/dashboard/ and its assets (/dashboard redirects there)."""
    return [Mount("/dashboard", app=DashboardFiles(directory or BUILD_DIR), name="dashboard")]
