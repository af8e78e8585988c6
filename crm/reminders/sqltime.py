"""Date arithmetic and JSON the sweeps need, written once for SQLite and PostgreSQL.

SQLite keeps dates as 'YYYY-MM-DD' text and datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (see
crm.columns.UTCDateTime); its date functions read and write those shapes, so comparisons
with stored values stay comparisons of text in one format.
"""

from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON


class add_days(FunctionElement):
    """date + n days (n an integer expression, negative to go back)."""

    type = Date()
    inherit_cache = True


@compiles(add_days)
def _add_days_pg(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + ({compiler.process(days, **kw)}))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, days = list(element.clauses)
    return (f"date({compiler.process(day, **kw)}, "
            f"({compiler.process(days, **kw)}) || ' days')")


class add_days_ts(FunctionElement):
    """timestamp + n days."""

    type = DateTime()
    inherit_cache = True


@compiles(add_days_ts)
def _add_days_ts_pg(element, compiler, **kw):
    moment, days = list(element.clauses)
    return (f"(CAST({compiler.process(moment, **kw)} AS TIMESTAMP) + "
            f"make_interval(days => CAST({compiler.process(days, **kw)} AS INTEGER)))")


@compiles(add_days_ts, "sqlite")
def _add_days_ts_sqlite(element, compiler, **kw):
    moment, days = list(element.clauses)
    return (f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(moment, **kw)}, "
            f"({compiler.process(days, **kw)}) || ' days')")


class date_of(FunctionElement):
    """The (UTC) calendar date of a timestamp."""

    type = Date()
    inherit_cache = True


@compiles(date_of)
def _date_of_pg(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS DATE)"


@compiles(date_of, "sqlite")
def _date_of_sqlite(element, compiler, **kw):
    return f"date({compiler.process(list(element.clauses)[0], **kw)})"


class whole_days_between(FunctionElement):
    """Whole days from the first timestamp to the second (floored), as an integer."""

    type = Integer()
    inherit_cache = True


@compiles(whole_days_between)
def _days_pg(element, compiler, **kw):
    since, until = (compiler.process(c, **kw) for c in element.clauses)
    return (f"CAST(floor(extract(epoch from (CAST({until} AS TIMESTAMP) - "
            f"CAST({since} AS TIMESTAMP))) / 86400) AS INTEGER)")


@compiles(whole_days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    since, until = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(julianday({until}) - julianday({since})) AS INTEGER)"


class json_object(FunctionElement):
    """A JSON object from alternating keys and values."""

    type = JSON()
    inherit_cache = True


@compiles(json_object)
def _json_pg(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "sqlite")
def _json_sqlite(element, compiler, **kw):
    return f"json_object({compiler.process(element.clauses, **kw)})"


class text_of(FunctionElement):
    """Any value as text (dates as 'YYYY-MM-DD'), for dedupe keys."""

    type = String()
    inherit_cache = True


@compiles(text_of)
def _text_of(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS VARCHAR)"


@compiles(text_of, "sqlite")
def _text_of_sqlite(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS TEXT)"
