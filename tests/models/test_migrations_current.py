"""The checked-in migrations describe the models exactly: no change is left ungenerated."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from models.db import tortoise_config
from models.migrate import apply_migrations
from tests.db import scratch_folder


async def test_models_and_migrations_agree(db: str) -> None:
    apps_config = tortoise_config(db)["apps"]
    detector = MigrationAutodetector(Tortoise.apps, apps_config)
    changes = await detector.changes()
    pending = {w.app_label: [type(op).__name__ for op in w.operations] for w in changes}
    assert pending == {}, (
        f"run `tortoise makemigrations`: models changed without a migration {pending}"
    )


def _schema(path: Path) -> dict[str, object]:
    """Each table's columns and each index's SQL, as SQLite holds them."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        found: dict[str, object] = {}
        for kind, name, sql in rows.fetchall():
            if kind == "table":
                found[name] = sorted(row[1] for row in db.execute(f'PRAGMA table_info("{name}")'))
            else:
                found[name] = " ".join(sql.split())
        return found


async def test_a_migrated_sqlite_database_has_every_table_and_index_the_models_declare() -> None:
    # A check constraint added after its table rebuilds the table on SQLite; 0001's
    # rebuilds lost the tables' indexes, and the autodetector above cannot see that.
    folder = scratch_folder("carepay-migrated-")
    migrated, declared = folder / "migrated.sqlite3", folder / "declared.sqlite3"
    await apply_migrations(f"sqlite://{migrated}")
    await Tortoise.init(config=tortoise_config(f"sqlite://{declared}"))
    try:
        await Tortoise.generate_schemas()
    finally:
        await Tortoise.close_connections()

    made, wanted = _schema(migrated), _schema(declared)
    assert {name: made.get(name) for name in wanted} == wanted
