"""Rubric scores over time: a rep's points and weekly averages, and the team table."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crm.extensions import db
from crm.reviews.models import Review, ReviewScore, ReviewStatus


@dataclass(frozen=True)
class Point:
    day: date
    score: int


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday starting the week the moment falls in, in the reader's time zone."""
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def score_points(rep_ids, since: datetime, zone: ZoneInfo) -> dict[int, dict[str, list[Point]]]:
    """Per rep, per rubric item: every finished review's score since then, oldest first."""
    rows = db.session.execute(
        select(Review.rep_id, Review.finished_at, ReviewScore.item_key, ReviewScore.score)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(Review.rep_id.in_(rep_ids), Review.status == ReviewStatus.FINISHED,
               Review.finished_at >= since)
        .order_by(Review.finished_at, Review.id))
    points: dict[int, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for rep_id, finished_at, key, score in rows:
        points[rep_id][key].append(Point(finished_at.astimezone(zone).date(), score))
    return points


def weekly_averages(rep_id: int, since: datetime, zone: ZoneInfo) -> dict[date, dict[str, float]]:
    """Week (Monday) → item → the average score of that week's finished reviews."""
    sums: dict[date, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for key, points in score_points([rep_id], since, zone).get(rep_id, {}).items():
        for point in points:
            sums[point.day - timedelta(days=point.day.weekday())][key].append(point.score)
    return {week: {key: round(sum(v) / len(v), 2) for key, v in items.items()}
            for week, items in sorted(sums.items())}


def item_averages(rep_ids, since: datetime) -> dict[int, dict[str, float]]:
    """Per rep, per item: the average over finished reviews since then (in SQL)."""
    rows = db.session.execute(
        select(Review.rep_id, ReviewScore.item_key, func.avg(ReviewScore.score))
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(Review.rep_id.in_(rep_ids), Review.status == ReviewStatus.FINISHED,
               Review.finished_at >= since)
        .group_by(Review.rep_id, ReviewScore.item_key))
    averages: dict[int, dict[str, float]] = defaultdict(dict)
    for rep_id, key, average in rows:
        averages[rep_id][key] = round(float(average), 2)
    return averages


def team_averages(rep_ids, since: datetime) -> dict[str, float]:
    rows = db.session.execute(
        select(ReviewScore.item_key, func.avg(ReviewScore.score))
        .join(Review, ReviewScore.review_id == Review.id)
        .where(Review.rep_id.in_(rep_ids), Review.status == ReviewStatus.FINISHED,
               Review.finished_at >= since)
        .group_by(ReviewScore.item_key))
    return {key: round(float(average), 2) for key, average in rows}


def reviews_per_manager_week(rep_ids, since: datetime,
                             zone: ZoneInfo) -> dict[int, dict[date, int]]:
    """Reviewer → week (Monday) → how many reviews they finished of these people."""
    rows = db.session.execute(
        select(Review.reviewer_id, Review.finished_at)
        .where(Review.rep_id.in_(rep_ids), Review.status == ReviewStatus.FINISHED,
               Review.finished_at >= since))
    counts: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for reviewer_id, finished_at in rows:
        counts[reviewer_id][week_of(finished_at, zone)] += 1
    return counts
