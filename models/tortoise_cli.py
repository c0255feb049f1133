"""The config Tortoise's own command reads (`[tool.tortoise]` in pyproject.toml), so that
`tortoise makemigrations` writes the next migration after a model changes. It compares
the models with the migrations on disk; no database is opened for that."""

from models.db import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://:memory:")
