"""Server-rendered SVG charts of rubric scores over time (no script needed to read them)."""

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD = 300, 120, 12


@dataclass
class Series:
    key: str
    label: str
    index: int  # picks the series colour class
    path: str
    dots: list[tuple[float, float, int, date]]


def _x(day: date, start: date, end: date) -> float:
    span = max((end - start).days, 1)
    return round(PAD + (WIDTH - 2 * PAD) * (day - start).days / span, 1)


def _y(score: float) -> float:
    return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * (score - 1) / 4, 1)


def score_chart(points_by_item: dict, items, start: date, end: date) -> dict:
    """Lines per rubric item across the date range; `items` gives order and labels."""
    series = []
    for index, item in enumerate(items):
        points = points_by_item.get(item.key, [])
        dots = [(_x(p.day, start, end), _y(p.score), p.score, p.day) for p in points]
        path = " ".join(f"{x},{y}" for x, y, _s, _d in dots)
        series.append(Series(item.key, item.label, index, path, dots))
    grid = [(score, _y(score)) for score in range(1, 6)]
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "series": series, "grid": grid,
            "start": start, "end": end, "empty": not any(s.dots for s in series)}
