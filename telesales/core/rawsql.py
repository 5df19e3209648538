"""Reading rows of hand-written SQL back as the ORM would (ADR 0015).

Where a hot path states its query as SQL text (``calls.pool_sql``, ``calls.guards``), the rows
still become model instances and typed values through the converters Django's compiler applies
on the engine in use (SQLite returns datetimes computed in SQL as text, booleans as integers),
so what such a path reads equals what the ORM reads."""

from __future__ import annotations

from functools import lru_cache

from django.db import connection


def adapt_datetime(value):
    """A datetime as the engine stores it (an aware value on PostgreSQL, UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def _reader(model) -> tuple[tuple[str, ...], tuple[str, ...], tuple]:
    return _reader_for(model, connection.ops)


@lru_cache(maxsize=64)
def _reader_for(model, ops) -> tuple[tuple[str, ...], tuple[str, ...], tuple]:
    """A model's concrete columns, attribute names and, per column, the converters Django's
    compiler would apply with these operations (one engine, one connection)."""
    fields = model._meta.concrete_fields
    columns = tuple(f.column for f in fields)
    names = tuple(f.attname for f in fields)
    converters = []
    for f in fields:
        col = f.get_col(model._meta.db_table)
        converters.append((col, ops.get_db_converters(col) + f.get_db_converters(ops.connection)))
    return columns, names, tuple(converters)


def select_list(model, alias: str) -> str:
    """Every concrete column of ``model`` as ``alias.column``, in the model's field order."""
    columns, _, _ = _reader(model)
    return ", ".join(f"{alias}.{connection.ops.quote_name(c)}" for c in columns)


def width(model) -> int:
    """How many columns :func:`select_list` selects."""
    return len(model._meta.concrete_fields)


def instance(model, row):
    """A ``model`` instance from the values of :func:`select_list`'s columns."""
    _, names, converters = _reader(model)
    values = list(row)
    for i, (col, convs) in enumerate(converters):
        for convert in convs:
            values[i] = convert(values[i], col, connection)
    return model.from_db(connection.alias, list(names), values)


def value_as(model, field_name: str, value):
    """A value computed in SQL (``MAX(started_at)``, an ``EXISTS``) converted as ``model``'s
    field ``field_name`` would be."""
    field = model._meta.get_field(field_name)
    col = field.get_col(model._meta.db_table)
    for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
        value = convert(value, col, connection)
    return value
