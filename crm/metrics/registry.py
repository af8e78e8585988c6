"""The metric registry and the one statement that computes any set of metrics."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, case, cast, func, literal, literal_column, select, union_all

from crm.extensions import db
from crm.metrics.periods import Period, local_midnight

UNITS = ("count", "amount", "score", "percent")
LEVELS = ("score", "percent")  # averages (a weighted mean), not totals


@dataclass(frozen=True)
class Window:
    """Whose work and when: `people` is a SELECT of user ids, `period` local days in `zone`."""

    people: Select
    period: Period
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.period.start, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.period.end, self.zone)

    def boundaries(self) -> list[datetime]:
        """The instant each local day after the first starts (DST-safe)."""
        return [local_midnight(day, self.zone) for day in self.period.days[1:]]

    def day_index(self, column):
        """Which local day of the period an instant falls on, as 0, 1, 2…"""
        bounds = self.boundaries()
        if not bounds:
            return literal_column("0")
        if _native_zones():
            return self._native_date(column) - literal(self.period.start, Date())
        return case(*[(column < bound, literal_column(str(n))) for n, bound in enumerate(bounds)],
                    else_=literal_column(str(len(bounds))))

    def local_date(self, column):
        """The local calendar date of an instant inside the window."""
        days = self.period.days
        bounds = self.boundaries()
        if not bounds:
            return literal(days[0], Date())
        if _native_zones():
            return self._native_date(column)
        return case(*[(column < bound, literal(day, Date()))
                      for day, bound in zip(days[:-1], bounds, strict=True)],
                    else_=literal(days[-1], Date()))


    def _native_date(self, column):
        """PostgreSQL knows the zones (and their summer time): the stored UTC instant's
        local date, without a CASE of one branch per day."""
        local = func.timezone(str(self.zone), func.timezone("UTC", column))
        return cast(local, Date)


def _native_zones() -> bool:
    """SQLite has no time zone database: there, a day is found among the period's local
    midnights by a CASE (exact, summer time included, fine for its sizes)."""
    return db.engine.dialect.name == "postgresql"


QueryBuilder = Callable[[Window, bool], Select]


@dataclass(frozen=True)
class Metric:
    """One number: `query(window, by_day)` returns rows (person, day, value, weight) grouped by
    person (and local day index when `by_day`, else day -1). For a "score" the value is a sum
    and the weight its count, so averages of a team are weighed by what was scored."""

    name: str
    label: object
    unit: str
    query: QueryBuilder
    goal: bool = True  # may be chosen as a goal's metric
    help: object = None

    def __post_init__(self):
        if not re.fullmatch(r"[a-z_]{1,40}", self.name) or self.unit not in UNITS:
            raise ValueError(f"bad metric {self.name!r} / {self.unit!r}")


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    METRICS[metric.name] = metric
    return metric


def metric_choices(goal_only: bool = True) -> list[tuple[str, object]]:
    return [(m.name, m.label) for m in METRICS.values() if m.goal or not goal_only]


def grouped(window: Window, person, at, value, *where, by_day: bool = False,
            weight=None, select_from=None) -> Select:
    """The usual shape: rows of `person` with `at` inside the window, grouped by person
    (and local day)."""
    day = window.day_index(at) if by_day else literal_column("-1")
    query = select(person.label("person"), day.label("day"), value.label("value"),
                   (weight if weight is not None else literal_column("0")).label("weight"))
    if select_from is not None:
        query = query.select_from(select_from)
    query = query.where(person.in_(window.people), at >= window.start, at < window.end, *where)
    # A one-day window's day is a constant, which GROUP BY must not see (SQLite would read
    # the number as a column position).
    return query.group_by(person, day) if by_day and window.boundaries() else \
        query.group_by(person)


@dataclass
class Figures:
    """What compute() found: per metric, per person (and per local day)."""

    window: Window
    names: list[str]
    by_person: dict[str, dict[int, tuple]] = field(default_factory=dict)
    by_day: dict[str, dict[int, dict[int, tuple]]] = field(default_factory=dict)

    def _combine(self, name: str, pairs) -> Decimal | int | float | None:
        metric = METRICS[name]
        total, weight = Decimal(0), 0
        for value, count in pairs:
            total += Decimal(value or 0)
            weight += int(count or 0)
        if metric.unit in LEVELS:
            return round(float(total) / weight, 2) if weight else None
        if metric.unit == "count":
            return int(total)
        return total.quantize(Decimal("0.01"))

    def person(self, name: str, person_id: int):
        pair = self.by_person.get(name, {}).get(person_id)
        return self._combine(name, [pair] if pair else [])

    def total(self, name: str, person_ids=None):
        rows = self.by_person.get(name, {})
        return self._combine(name, [pair for pid, pair in rows.items()
                                    if person_ids is None or pid in person_ids])

    def daily(self, name: str, person_ids=None) -> list[tuple[date, object]]:
        days = self.window.period.days
        per_day: dict[int, list] = {}
        for pid, by_index in self.by_day.get(name, {}).items():
            if person_ids is None or pid in person_ids:
                for index, pair in by_index.items():
                    per_day.setdefault(index, []).append(pair)
        return [(day, self._combine(name, per_day.get(n, []))) for n, day in enumerate(days)]

    def people(self) -> set[int]:
        return {pid for rows in self.by_person.values() for pid in rows}


def compute(names, window: Window, *, daily=()) -> Figures:
    """The metrics `names` per person for the window, and per local day for those in `daily`,
    in one statement."""
    return compute_many([(names, window, daily)])[0]


def compute_many(requests) -> list[Figures]:
    """Several (names, window[, daily]) at once, still in ONE statement: goals of a month, a
    quarter and a year read together."""
    figures, parts = [], []
    for n, request in enumerate(requests):
        names, window, daily = (list(request) + [()])[:3]
        names = [name for name in names if name in METRICS]
        figures.append(Figures(window, names))
        # Whose work, written once at the top of the statement: a dozen metrics each naming
        # the team's people again cost PostgreSQL more to plan than to run.
        window = replace(window, people=select(window.people.cte(f"people_{n}")))
        parts += [_tagged(f"{n}:{name}", METRICS[name].query(window, False)) for name in names]
        parts += [_tagged(f"{n}:{name}@day", METRICS[name].query(window, True))
                  for name in daily if name in METRICS]
    if not parts:
        return figures
    for person, day, value, weight, tag in db.session.execute(union_all(*parts)):
        index, _, name = tag.partition(":")
        target = figures[int(index)]
        if name.endswith("@day"):
            target.by_day.setdefault(name[:-4], {}).setdefault(person, {})[int(day)] = (
                value, weight)
        else:
            target.by_person.setdefault(name, {})[person] = (value, weight)
    return figures


def _tagged(tag: str, query: Select) -> Select:
    """The metric's rows with its tag as their last column (every metric is `grouped`'s
    plain SELECT, so no subquery is needed to add one)."""
    return query.add_columns(literal_column(f"'{tag}'").label("metric"))
