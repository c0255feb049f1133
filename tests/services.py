"""Where the test services live, and whether a missing one skips or fails the run."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

POSTGRES_URL = os.environ.get("CAREPAY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("CAREPAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"


def require_services() -> bool:
    """Whether an absent service fails the run instead of skipping (CI)."""
    return os.environ.get("CAREPAY_REQUIRE_SERVICES", "") in ("1", "true", "yes")


def port_open(host: str, port: int) -> bool:
    """Whether something listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def unavailable(service: str, detail: str) -> None:
    """Skip the test, or fail it when services are required."""
    message = f"{service} is not reachable ({detail})"
    if require_services():
        pytest.fail(f"{message} and CAREPAY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{message}; start it or set CAREPAY_TEST_* URLs")
