"""The hot statements on SQLite, sent straight to the transaction's own sqlite3 connection.

Through an ``AsyncSession`` a statement costs 60 to 100 µs of CPU before SQLite sees it: the
greenlet hop of the asyncio layer, the execution context, bind and result processing, the
result object, and for entities the ORM's loading. SQLite answers one of ours in 5 to 10 µs
from its page cache. background/group-commit.md measured SQLAlchemy halving a group-commit
writer's throughput, and after the dialog rows, the dedupe and the outbox left the ORM, its
execution path was still the largest share of a message's CPU.

So the statements each message or batch runs are still written in Core (one place names the
tables and columns), compiled here once for SQLite, and run on the sqlite3 connection the
session's transaction already holds (``store.sqlite_inline``), with the same bind and
result conversions and Python-side defaults SQLAlchemy would apply (a session not yet in a
transaction begins one first, as SQLAlchemy's own path would). Everywhere else
(PostgreSQL, aiosqlite's thread) the same calls take SQLAlchemy's ordinary path and return
the same rows, so callers never branch; the tests compare both paths.

A driver error is raised as SQLAlchemy's own exception class (``IntegrityError`` and so on),
as the ordinary path would raise it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Final, NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeEngine

from store.models.base import Base, table_of
from store.sqlite_inline import InlineConnection

Row = tuple[Any, ...]
Params = Mapping[str, Any]
Convert = Callable[[Any], Any]
_INFO_KEY: Final = "crmbot.direct"


class Sent:
    """What went straight to the driver, where SQLAlchemy's events cannot see it: a count
    (the benchmarks add it to theirs) and the SQL of each statement to any ``listeners``
    (the tests that check which statements a batch sends). An executemany is one."""

    count = 0
    listeners: ClassVar[list[Callable[[str], None]]] = []

    @classmethod
    def note(cls, sql: str) -> None:
        cls.count += 1
        for listener in cls.listeners:
            listener(sql)


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement compiled for one dialect: SQL, bind names in order, conversions."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Convert | None, ...]
    defaults: Mapping[str, Any]
    generated: Mapping[str, Callable[[], Any]]
    results: tuple[Convert | None, ...]

    def args(self, params: Params) -> tuple[Any, ...]:
        values = []
        for name, convert in zip(self.names, self.binds, strict=True):
            if name in params:
                value = params[name]
            elif name in self.generated:
                value = self.generated[name]()
            else:
                value = self.defaults[name]
            values.append(convert(value) if convert is not None else value)
        return tuple(values)

    def rows(self, raw: list[Any]) -> list[Row]:
        if not any(self.results):  # sqlite3 rows are tuples already
            return raw
        return [
            tuple(
                convert(value) if convert is not None else value
                for value, convert in zip(row, self.results, strict=True)
            )
            for row in raw
        ]


class DirectStatement:
    """A Core statement that hot paths run through ``fetch``, ``run`` and ``run_many``.

    No expanding (``IN``-list) parameters: a compiled form must not depend on the call.
    An INSERT without ``.values()`` names the ``columns`` its parameters give (SQLAlchemy
    would take them from the first parameter set of each call).
    """

    def __init__(self, statement: Executable, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self._columns = list(columns) if columns is not None else None
        self._sqlite: _Form | None = None

    def sqlite_form(self, dialect: Dialect) -> _Form:
        """The statement compiled for SQLite, once."""
        if self._sqlite is None:
            self._sqlite = _compile(self.statement, dialect, self._columns)
        return self._sqlite


def _compile(statement: Executable, dialect: Dialect, columns: list[str] | None) -> _Form:
    compiled = statement.compile(dialect=dialect, column_keys=columns)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    if any(bind.expanding for bind in binds):
        raise ValueError("a direct statement cannot take an expanding (IN-list) parameter")
    returned: Iterable[ColumnElement[Any]] = getattr(statement, "exported_columns", ())
    return _Form(
        sql=compiled.string,
        names=names,
        binds=tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds),
        # Values fixed in the statement (a LIMIT, say, or a NULL), under their compiled names.
        defaults={
            name: bind.value
            for name, bind in zip(names, binds, strict=True)
            if not bind.required and bind.callable is None
        },
        # Computed at each execution, as SQLAlchemy does: column defaults, callable binds.
        generated=_python_defaults(compiled)
        | {name: bind.callable for name, bind in zip(names, binds, strict=True) if bind.callable},
        results=tuple(_result_processor(column.type, dialect) for column in returned),
    )


def _python_defaults(compiled: Any) -> dict[str, Callable[[], Any]]:
    """The column defaults and onupdates SQLAlchemy computes in Python when a parameter set
    leaves their column out (a ``created_at`` set to now, say)."""
    generated: dict[str, Callable[[], Any]] = {}
    for columns, attribute in (
        (compiled.insert_prefetch, "default"),
        (compiled.update_prefetch, "onupdate"),
    ):
        for column in columns:
            default = getattr(column, attribute)
            if default is None:
                continue
            if default.is_callable:
                # SQLAlchemy wraps a plain function to take an execution context it ignores.
                generated[column.key] = partial(default.arg, None)
            elif default.is_scalar:
                generated[column.key] = partial(lambda value: value, default.arg)
            else:
                raise ValueError(f"a direct statement cannot compute {column.key}'s default")
    return generated


def _result_processor(type_: TypeEngine[Any], dialect: Dialect) -> Convert | None:
    # A TypeDecorator's own processor wraps its implementation's, as on the ordinary path.
    processor: Convert | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return processor


def _transactions(session: AsyncSession) -> tuple[object, object]:
    sync = session.sync_session
    return sync.get_transaction(), sync.get_nested_transaction()


async def _sqlite(session: AsyncSession) -> tuple[sqlite3.Connection, Dialect] | None:
    """The session transaction's sqlite3 connection, when the direct path may use it.

    Looked up again whenever the innermost transaction changes: SQLAlchemy emits a
    ``begin_nested()``'s SAVEPOINT only when the session next asks for its connection, and
    a direct write before that would escape the savepoint's rollback.
    """
    current = _transactions(session)
    cached = session.info.get(_INFO_KEY)
    if cached is not None and cached[0] == current and current[0] is not None:
        found: tuple[sqlite3.Connection, Dialect] | None = cached[1]
        return found
    dialect = session.get_bind().dialect
    found = None
    if dialect.name == "sqlite":
        connection = await session.connection()  # begins, or emits the SAVEPOINT, if due
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if isinstance(driver, InlineConnection) and driver.sqlite.in_transaction:
            found = (driver.sqlite, dialect)
    session.info[_INFO_KEY] = (_transactions(session), found)
    return found


async def straight(session: AsyncSession) -> bool:
    """Whether this session's statements go straight to the driver (SQLite, inline).

    Callers that would rather send one round trip per key there than one expanding
    ``IN`` query through SQLAlchemy ask this, not the dialect: aiosqlite's thread mode is
    SQLite too, yet its round trips are dear.
    """
    return await _sqlite(session) is not None


def _raise_as_sqlalchemy(sql: str, error: sqlite3.Error) -> NoReturn:
    raise sa_exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _has_pending(session: AsyncSession) -> bool:
    """Whether the ORM holds changes a query would flush first (autoflush).

    ``Session.new`` and ``.deleted`` build a fresh set on every call; this runs before
    every direct read, so it asks the session's own (stable, if private) bookkeeping.
    """
    sync = session.sync_session
    if _IS_CLEAN is not None:
        return not _IS_CLEAN(sync)
    # A SQLAlchemy without it: the same answer through the public (slower) accessors.
    return bool(sync.new) or bool(sync.deleted) or sync.identity_map.check_modified()


_IS_CLEAN: Callable[[Session], bool] | None = getattr(Session, "_is_clean", None)


async def fetch(session: AsyncSession, statement: DirectStatement, params: Params) -> list[Row]:
    """The rows ``statement`` returns for ``params``, as plain tuples.

    Pending ORM changes are flushed first, as an ORM query would, so a read sees them.
    """
    return await fetch_each(session, statement, (params,))


async def fetch_each(
    session: AsyncSession, statement: DirectStatement, many: Sequence[Params]
) -> list[Row]:
    """What ``statement`` returns for each of ``many``, rows in order (a round trip each)."""
    if _has_pending(session):
        await session.flush()
    direct = await _sqlite(session)
    rows: list[Row] = []
    if direct is None:
        connection = await session.connection()
        for params in many:
            rows += [tuple(row) for row in await connection.execute(statement.statement, params)]
        return rows
    sqlite, dialect = direct
    form = statement.sqlite_form(dialect)
    for params in many:
        Sent.note(form.sql)
        try:
            raw_rows = sqlite.execute(form.sql, form.args(params)).fetchall()
        except sqlite3.Error as error:
            _raise_as_sqlalchemy(form.sql, error)
        rows += form.rows(raw_rows)
    return rows


async def run(session: AsyncSession, statement: DirectStatement, params: Params) -> None:
    """Execute ``statement`` once, for its effect."""
    await run_many(session, statement, [params])


async def run_many(
    session: AsyncSession, statement: DirectStatement, many: Sequence[Params]
) -> None:
    """Execute ``statement`` for each of ``many`` (one executemany)."""
    if not many:
        return
    direct = await _sqlite(session)
    if direct is None:
        connection = await session.connection()
        await connection.execute(statement.statement, list(many) if len(many) > 1 else many[0])
        return
    sqlite, dialect = direct
    form = statement.sqlite_form(dialect)
    Sent.note(form.sql)
    try:
        if len(many) == 1:
            sqlite.execute(form.sql, form.args(many[0]))
        else:
            sqlite.executemany(form.sql, [form.args(params) for params in many])
    except sqlite3.Error as error:
        _raise_as_sqlalchemy(form.sql, error)


_EXISTS: dict[type[Base], DirectStatement] = {}


async def exists(session: AsyncSession, model: type[Base], key: int) -> bool:
    """Whether ``model`` has a row with primary key ``key`` (without loading it)."""
    statement = _EXISTS.get(model)
    if statement is None:
        table = table_of(model)
        (column,) = table.primary_key.columns
        statement = DirectStatement(select(column).where(column == bindparam("key")))
        _EXISTS[model] = statement
    return bool(await fetch(session, statement, {"key": key}))
