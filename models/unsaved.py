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

# How a field left out gets its value: a factory to call, or a value to copy.
_Default = tuple[Callable[[], Any] | None, Any]


@dataclass(frozen=True)
class _Plan:
    """What `unsaved` needs of a model, worked out once."""

    convert: dict[str, Callable[[Any], Any]]  # each column field's to_python_value
    not_null: frozenset[str]
    defaults: dict[str, _Default]
    generated_pk: str | None  # the primary key, if the database generates it


@functools.cache
def _plan(model: type[Model]) -> _Plan:
    meta = model._meta
    convert: dict[str, Callable[[Any], Any]] = {}
    not_null: set[str] = set()
    defaults: dict[str, _Default] = {}
    for name in meta.fields_db_projection:
        field = meta.fields_map[name]
        convert[name] = field.to_python_value
        if not field.null:
            not_null.add(name)
        default = field.default
        if inspect.iscoroutinefunction(default):
            defaults[name] = (_refuse(model, name), None)
        elif callable(default):
            defaults[name] = (default, None)
        elif default is not None:
            defaults[name] = (None, default)
        elif field.has_db_default():
            defaults[name] = (None, field.get_db_default_value())
        else:
            defaults[name] = (None, None)
    pk = meta.fields_map[meta.pk_attr]
    return _Plan(convert, frozenset(not_null), defaults, meta.pk_attr if pk.generated else None)


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
    for name, (factory, default) in plan.defaults.items():
        if name in values:
            continue
        if factory is not None:
            value = factory()
        elif isinstance(default, (int, float, str, bool, bytes)) or default is None:
            value = default
        else:
            value = copy.deepcopy(default)
        put(instance, name, value)
    return instance


def _refuse(model: type[Model], name: str) -> Callable[[], Any]:
    def refuse() -> Any:
        raise TypeError(f"{model.__name__}.{name} has a coroutine default: use the model")

    return refuse
