"""Queries compiled once per process and, on PostgreSQL, planned once per connection.

Django turns a QuerySet into SQL on every evaluation (0.3–1 ms for a query with joins and
subqueries) and PostgreSQL plans it again on every execution (up to 1 ms more for a wide join).
The storefront's pages run the same few reads on every request that misses the page cache, with
only an id or a date changing. A ``PreparedQuery`` builds its QuerySet once, with a *marker*
value standing for each parameter, keeps the SQL, and on PostgreSQL runs it as a server-side
prepared statement: ``PREPARE`` the first time a connection needs it, then ``EXECUTE`` with the
parameters. The ORM stays the one description of the query; other databases (SQLite in
development) run the kept SQL as it is.

A prepared statement lives as long as its connection (not its transaction: a rollback keeps it).
Behind a pooler that hands a connection to another session between transactions (PgBouncer in
transaction mode), set ``DB_PREPARED_STATEMENTS=false``: the SQL is still compiled once.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, QuerySet

_NAMES: set[str] = set()
_NAMES_LOCK = threading.Lock()
# A parameter's marker: a value of its type that no real query passes, found again in the
# compiled query's parameters. Booleans cannot be told apart from constants: not parameters.
_MARKER_BASE = {
    int: lambda n: 2_000_000_000 + n,
    str: lambda n: f"\x1fprepared-query-marker-{n}\x1f",
    date: lambda n: date(1901, 1, 1) + timedelta(days=n),
}
_PLACEHOLDER = re.compile(r"%s|%%")


class PreparedQueryError(Exception):
    """The QuerySet cannot be compiled once (a parameter changes the SQL, not only its values)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str  # with %s placeholders, as Django's cursor takes it
    constants: tuple  # the compiled parameters, markers included
    # (position in the parameters, parameter name, passed as text: SQLite's dates are)
    slots: tuple[tuple[int, str, bool], ...]
    names: tuple[str, ...]  # the columns, as ``values()`` names them
    compiler: Any  # applies the backend's converters (none for most columns on PostgreSQL)
    converters: dict
    statement: str  # the prepared statement's name
    prepare_sql: str  # PREPARE <statement> AS <sql with $1, $2…>
    execute_sql: str  # EXECUTE <statement> (%s, %s…)

    def parameters(self, values: dict[str, Any]) -> list:
        params = list(self.constants)
        for position, name, as_text in self.slots:
            params[position] = str(values[name]) if as_text else values[name]
        return params


class PreparedQuery:
    """``build(**parameters)`` must return a ``values()`` or ``values_list()`` QuerySet whose SQL
    does not depend on the parameters' values (only on their types, given by ``parameters``).

    ``rows(**values)`` returns the rows as tuples, ``dicts(**values)`` as ``values()`` would.
    A parameter is declared by its Python type (``int``, ``str``, ``date``) or by the model field
    it is compared with (``Product._meta.pk``): an integer outside that field's range (or a
    big integer's) matches nothing, as Django's own lookups have it, instead of a database
    error.
    """

    def __init__(
        self, name: str, build: Callable[..., QuerySet], **parameters: type | Field
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
            raise ValueError(f"PreparedQuery name {name!r}: lower-case letters, digits and _.")
        with _NAMES_LOCK:
            if name in _NAMES:
                raise ValueError(f"PreparedQuery name {name!r} is already taken.")
            _NAMES.add(name)
        self._parameters: dict[str, type] = {}
        self._integer_kinds: dict[str, str] = {}  # parameter: internal type of its integer field
        for parameter, kind in parameters.items():
            if isinstance(kind, Field):
                internal = kind.get_internal_type()
                if "IntegerField" in internal or internal.endswith("AutoField"):
                    self._integer_kinds[parameter] = internal
                kind = _python_type(kind)
            elif kind is int:
                self._integer_kinds[parameter] = "BigIntegerField"
            if kind not in _MARKER_BASE:
                raise TypeError(f"{name}: parameter {parameter} of unsupported type {kind!r}.")
            self._parameters[parameter] = kind
        self.name = name
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        if values.keys() != self._parameters.keys():
            raise TypeError(f"{self.name} takes {sorted(self._parameters)}, got {sorted(values)}.")
        connection = connections[using]
        for parameter, internal in self._integer_kinds.items():
            low, high = connection.ops.integer_field_range(internal)
            if not (low is None or low <= values[parameter]) or not (
                high is None or values[parameter] <= high
            ):
                return []  # no row can hold it
        compiled = self._compiled.get(using) or self._compile(using)
        params = compiled.parameters(values)
        if connection.vendor == "postgresql" and settings.DB_PREPARED_STATEMENTS:
            with connection.cursor() as cursor:  # connects (and health-checks) first
                _prepare(connection, compiled)
                cursor.execute(compiled.execute_sql, params)
                rows = cursor.fetchall()
        else:
            with connection.cursor() as cursor:
                cursor.execute(compiled.sql, params)
                rows = cursor.fetchall()
        if compiled.converters:
            rows = [
                tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)
            ]
        return rows

    def dicts(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict]:
        rows = self.rows(using=using, **values)
        names = self._compiled[using].names
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _compile(self, using: str) -> _Compiled:
        markers = {
            parameter: _MARKER_BASE[kind](n)
            for n, (parameter, kind) in enumerate(self._parameters.items())
        }
        queryset = self._build(**markers).using(using)
        query = queryset.query
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = []
        for position, value in enumerate(params):
            for parameter, marker in markers.items():
                if type(value) is type(marker) and value == marker:
                    slots.append((position, parameter, False))
                elif type(value) is str and not isinstance(marker, str) and value == str(marker):
                    slots.append((position, parameter, True))  # adapted to text by the backend
        missing = set(markers) - {slot[1] for slot in slots}
        if missing:
            raise PreparedQueryError(
                f"{self.name}: parameters {sorted(missing)} do not reach the SQL as values."
            )
        if query.selected:
            names = tuple(query.selected)
        else:
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        statement = f"ess_{self.name}_{hashlib.sha1(sql.encode()).hexdigest()[:10]}"  # noqa: S324
        numbered = iter(range(1, len(params) + 1))
        prepare_sql = _PLACEHOLDER.sub(
            lambda match: "%" if match[0] == "%%" else f"${next(numbered)}", sql
        )
        compiled = _Compiled(
            sql=sql,
            constants=tuple(params),
            slots=tuple(slots),
            names=names,
            compiler=compiler,
            converters=compiler.get_converters(fields),
            statement=statement,
            prepare_sql=f"PREPARE {statement} AS {prepare_sql}",
            execute_sql=(
                f"EXECUTE {statement} ({', '.join(['%s'] * len(params))})"
                if params
                else f"EXECUTE {statement}"
            ),
        )
        self._compiled[using] = compiled
        return compiled


def _python_type(field: Field) -> type:
    internal = field.get_internal_type()
    if "IntegerField" in internal or internal.endswith("AutoField"):
        return int
    if internal == "DateField":
        return date
    if internal in {"CharField", "TextField", "SlugField"}:
        return str
    raise TypeError(f"PreparedQuery: no parameter of a {internal}.")


def _prepare(connection, compiled: _Compiled) -> None:
    """PREPARE the statement on this connection unless it already was. Not counted as one of the
    request's queries: it runs once per connection, on the driver's own cursor."""
    raw = connection.connection
    state = getattr(connection, "_essentiels_prepared", None)
    if state is None or state[0] is not raw:  # a new connection: nothing prepared on it yet
        state = (raw, set())
        connection._essentiels_prepared = state
    if compiled.statement in state[1]:
        return
    with connection.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(compiled.prepare_sql)
    state[1].add(compiled.statement)
