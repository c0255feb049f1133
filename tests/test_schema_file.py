"""schema.graphql is the exported SDL of the running schema; drift fails the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from strawberry.printer import print_schema

from graph import build_schema
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_matches_the_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    current = print_schema(build_schema(Settings.from_env({}))) + "\n"
    assert checked_in == current, (
        "schema.graphql drifted: run `carepay export-schema > schema.graphql`"
    )


def test_export_schema_command_prints_the_same_sdl() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cli", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == (ROOT / "schema.graphql").read_text()
    assert "type Query" in out and "interface Node" in out


def test_token_command_mints_a_verifiable_token() -> None:
    import jwt

    out = subprocess.run(
        [sys.executable, "-m", "cli", "token", "alex@example.org", "--role", "staff"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"CAREPAY_SECRET_KEY": "s" * 40, "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    claims = jwt.decode(out, "s" * 40, algorithms=["HS256"])
    assert claims["sub"] == "alex@example.org"
    assert claims["role"] == "staff"
