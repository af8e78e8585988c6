"""What the running installation keeps about itself: when each periodic job last ran."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm.columns import UTCDateTime
from crm.extensions import db


class PeriodicRun(db.Model):
    """The last run of one periodic job (by its import path), kept across cron restarts."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
