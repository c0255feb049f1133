"""Schema migrations through Tortoise's built-in migration engine."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor

from models.db import tortoise_config


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":  # Tortoise's events: apply_start, apply_done, rollback_*
            applied.append(f"{app_label}.{name}")

    config = tortoise_config(database_url)
    try:
        await tortoise_migrate(config=config, progress=progress)
    finally:
        await Tortoise.close_connections()
        await Tortoise._reset_apps()
    return applied


async def pending_migrations() -> list[str]:
    """Migrations on disk not yet applied to the open default connection."""
    config = tortoise_config("sqlite://:memory:")["apps"]
    executor = MigrationExecutor(connections.get("default"), config)
    steps = await executor.plan()
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]
