"""The checked-in migrations describe the models exactly: no change is left ungenerated."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from models.db import tortoise_config


async def test_models_and_migrations_agree(db: str) -> None:
    apps_config = tortoise_config(db)["apps"]
    detector = MigrationAutodetector(Tortoise.apps, apps_config)
    changes = await detector.changes()
    pending = {w.app_label: [type(op).__name__ for op in w.operations] for w in changes}
    assert pending == {}, (
        f"run `tortoise makemigrations`: models changed without a migration {pending}"
    )
