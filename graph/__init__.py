"""The GraphQL surface: types, inputs, payloads, errors, schema, context and auth."""

from graph.schema import build_schema

__all__ = ["build_schema"]
