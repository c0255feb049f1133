"""New, unsaved model instances, built as Tortoise's `Model(**values)` builds them, faster.

The ledger builds a payment, an idempotency claim and a sandbox charge for every
payBill, and Tortoise's `__init__` spends about 30 us on each: it asks `inspect` about
every default and routes every field through its `__setattr__` override. `unsaved`
does the same work with what it can work out once per model: each value given goes
through its field's `to_python_value` (so an enum's value becomes the enum, as in
`__init__`), a field left out takes its default, and a None where a field may not be
NULL is refused. Relation objects and coroutine defaults are `__init__`'s business:
`unsaved` refuses them (tests/models/test_unsaved.py compares the two instances).
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Plan:
    """What `unsaved` needs of a model, worked out once."""

    convert: dict[str, Callable[[Any], Any]]  # each column field's to_python_value
    not_null: frozenset[str]
    fixed: dict[str, Any]  # defaults that every instance shares (None, a number, a str)
    made: dict[str, Callable[[], Any]]  # defaults made anew for each instance
    generated_pk: str | None  # the primary key, if the database generates it


@functools.cache
def _plan(model: type[Model]) -> _Plan:
    meta = model._meta
    convert: dict[str, Callable[[Any], Any]] = {}
    not_null: set[str] = set()
    fixed: dict[str, Any] = {}
    made: dict[str, Callable[[], Any]] = {}
    for name in meta.fields_db_projection:
        field = meta.fields_map[name]
        convert[name] = field.to_python_value
        if not field.null:
            not_null.add(name)
        default = field.default
        if inspect.iscoroutinefunction(default):
            raise TypeError(f"{model.__name__}.{name} has a coroutine default: use the model")
        if callable(default):
            made[name] = default
        elif default is None:
            fixed[name] = field.get_db_default_value() if field.has_db_default() else None
        elif isinstance(default, (int, float, str, bool, bytes)):
            fixed[name] = default
        else:
            made[name] = functools.partial(copy.deepcopy, default)
    pk = meta.fields_map[meta.pk_attr]
    generated_pk = meta.pk_attr if pk.generated else None
    return _Plan(convert, frozenset(not_null), fixed, made, generated_pk)


def unsaved(model: type[M], **values: Any) -> M:
    """`model(**values)` for values of the model's own columns (`bill_id`, not `bill`)."""
    plan = _plan(model)
    instance = model.__new__(model)
    put = object.__setattr__
    put(instance, "_partial", False)
    put(instance, "_saved_in_db", False)
    put(instance, "_custom_generated_pk", plan.generated_pk in values)
    put(instance, "_await_when_save", {})
    for name, value in values.items():
        to_python = plan.convert.get(name)
        if to_python is None:
            raise TypeError(f"{model.__name__} has no column field {name!r}")
        if value is None and name in plan.not_null:
            raise ValueError(f"{name} is non nullable field, but null was passed")
        put(instance, name, to_python(value))
    for name, default in plan.fixed.items():
        if name not in values:
            put(instance, name, default)
    for name, make in plan.made.items():
        if name not in values:
            put(instance, name, make())
    return instance
