"""Real carepay servers for end-to-end tests: `carepay serve` in a subprocess.

    with ServerProcess(database_url, workers=1, env={"CAREPAY_REDIS_URL": ...}) as server:
        httpx.post(server.graphql_url, json=..., headers=server.auth("alex@example.org"))
        server.restart()

Each server gets a free port on 127.0.0.1, the given database (migrated first unless
`migrate=False`), a test secret, and its own log file (`server.log()`), kept until
the process that started it exits. Start waits for /readyz with a timeout and fails
with the log's tail if the server dies first.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from graph.auth import mint_token
from models.enums import Role
from settings import Settings
from tests.db import scratch_folder

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-test-secret-" + "s" * 32
BASE_ENV = {
    "CAREPAY_ENV": "test",
    "CAREPAY_SECRET_KEY": SECRET,
    "CAREPAY_LOG_LEVEL": "WARNING",
    "CAREPAY_SCHEDULER_ENABLED": "0",
}


@functools.cache
def _logs() -> Path:
    """This process's folder of server logs, removed when it exits: tests read a log
    after its server stopped, and a failure's message carries the tail it needs."""
    return scratch_folder("carepay-e2e-")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def carepay(*args: str, env: Mapping[str, str], timeout: float = 60) -> str:
    """Run a `carepay` subcommand to completion; its stdout (fails with its stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"carepay {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


class ServerProcess:
    """One `carepay serve` process (with N uvicorn workers) on a free local port."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        migrate: bool = True,
        root: Path = ROOT,
    ) -> None:
        self.database_url = database_url
        self.root = root  # the source tree it serves (another checkout, for an A/B)
        self.workers = workers
        self.port = port or free_port()
        self.env = {**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": database_url, **(env or {})}
        self.migrate = migrate
        self.log_path = Path(tempfile.mkdtemp(dir=_logs())) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint over HTTP."""
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        """The GraphQL endpoint over WebSocket."""
        return f"ws://127.0.0.1:{self.port}/graphql"

    def token(self, email: str, *, role: Role = Role.MEMBER) -> str:
        """A bearer token this server accepts."""
        settings = Settings.from_env({"CAREPAY_SECRET_KEY": SECRET})
        return mint_token(settings, email, role=role, hours=2)

    def auth(self, email: str, *, role: Role = Role.MEMBER) -> dict[str, str]:
        """The Authorization header for `email`."""
        return {"Authorization": f"Bearer {self.token(email, role=role)}"}

    def start(self, *, timeout: float = 30) -> ServerProcess:
        """Start the server and wait until /readyz answers 200."""
        if self.migrate:
            carepay("migrate", env=self.env)
            self.migrate = False
        command = [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float = 30) -> None:
        """Poll /readyz until it answers 200; RuntimeError with the log if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"server exited during start-up:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log()[-4000:]}")

    def stop(self, *, timeout: float = 10) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self.process = None

    def restart(self, *, timeout: float = 30) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start(timeout=timeout)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
