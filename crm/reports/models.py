"""Generated team reports (日报 / 周报 / 月报): one row per team, kind and period, made by the
worker; the figures are kept on the row and the XLSX file beside them."""

import enum
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.clock import utcnow
from crm.columns import UTCDateTime, enum_column
from crm.extensions import db


class ReportKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


KIND_LABELS = {ReportKind.DAILY: _l("Daily report"), ReportKind.WEEKLY: _l("Weekly report"),
               ReportKind.MONTHLY: _l("Monthly report")}
STATUS_LABELS = {RunStatus.QUEUED: _l("Waiting to start"), RunStatus.RUNNING: _l("Being made"),
                 RunStatus.DONE: _l("Finished"), RunStatus.FAILED: _l("Failed")}


STUCK_AFTER = timedelta(minutes=30)


class ReportRun(db.Model):
    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("team_id", "kind", "period_start",
                                       name="uq_report_runs_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind, name="report_kind"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, name="report_status"),
                                              default=RunStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    error: Mapped[str | None] = mapped_column(String(300))
    job_id: Mapped[str | None] = mapped_column(String(60))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The figures as computed (the HTML view and the CSV read them) and the XLSX made from them.
    data: Mapped[dict | None] = mapped_column(JSON)
    file_name: Mapped[str | None] = mapped_column(String(120))
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary)

    team = relationship("Team")
    requested_by = relationship("User")

    @property
    def running(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def stuck(self) -> bool:
        """Under way for longer than any report takes: its worker was lost; ask again."""
        since = self.started_at or self.created_at
        return self.running and since is not None and utcnow() - since > STUCK_AFTER
