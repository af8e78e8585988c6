"""Demo data for the customer's voice: feedback in every state, answered surveys, a lunar
birthday this week, thanks given and a member day. Called by crm.demo; never commits."""

from datetime import timedelta

from sqlalchemy import select

from crm.accounts.models import Team, User
from crm.clock import utcnow
from crm.customers.models import Customer, Tier
from crm.extensions import db
from crm.voice.care import create_member_day, record_gesture
from crm.voice.feedback import change_status, mark_valuable, register_feedback
from crm.voice.models import (
    Channel,
    FeedbackKind,
    FeedbackStatus,
    GestureKind,
    Occasion,
    Severity,
    SurveyReason,
)
from crm.voice.surveys import answer_survey, create_survey


def seed_voice() -> None:
    rep = db.session.scalar(select(User).where(User.email == "rep@demo.local"))
    office = db.session.scalar(select(User).where(User.email == "office@demo.local"))
    if rep is None or office is None:
        return
    customers = list(db.session.scalars(select(Customer).where(Customer.owner_id == rep.id)
                                        .order_by(Customer.id).limit(6)))
    if len(customers) < 6:
        return
    now = utcnow()
    late = register_feedback(customers[0], office, kind=FeedbackKind.COMPLAINT,
                             channel=Channel.PHONE, severity=Severity.HIGH,
                             summary="设备安装后第二天就报错，售后电话一直占线。",
                             received_at=now - timedelta(hours=30))
    change_status(late, rep, FeedbackStatus.IN_PROGRESS, note="已约明天上门")
    solved = register_feedback(customers[1], rep, kind=FeedbackKind.COMPLAINT,
                               channel=Channel.VISIT, severity=Severity.NORMAL,
                               summary="发票抬头开错了。", received_at=now - timedelta(days=5))
    change_status(solved, rep, FeedbackStatus.RESOLVED, resolution="已重开发票并快递寄出。")
    change_status(solved, office, FeedbackStatus.CLOSED)
    idea = register_feedback(customers[2], rep, kind=FeedbackKind.SUGGESTION,
                             channel=Channel.WECHAT, severity=Severity.LOW,
                             summary="建议在包装上印安装二维码，扫码看视频。",
                             received_at=now - timedelta(days=2))
    mark_valuable(idea, office, valuable=True, note="可推广到全部产品线")
    register_feedback(customers[3], rep, kind=FeedbackKind.PRAISE, channel=Channel.VISIT,
                      severity=Severity.LOW, summary="安装师傅很专业，现场讲解清楚。")
    for customer, score, comment, days in ((customers[3], 5, "服务周到", 20),
                                           (customers[4], 4, None, 12),
                                           (customers[5], 2, "交货比约定晚了一周", 3)):
        survey = create_survey(customer, rep, reason=SurveyReason.WON_DEAL,
                               now=now - timedelta(days=days))
        answer_survey(survey, score, comment, now=now - timedelta(days=days - 1))
    create_survey(customers[1], rep, reason=SurveyReason.COMPLAINT)
    today = now.date()
    customers[0].birthday = today.replace(year=1978, day=min(today.day, 28))
    customers[0].tier = Tier.KEY
    customers[2].tier = Tier.KEY
    customers[2].last_contact_at = now - timedelta(days=75)
    record_gesture(customers[3], rep, kind=GestureKind.GIFT, occasion=Occasion.THANKS,
                   what="定制保温杯一对", given_on=today - timedelta(days=1))
    team = db.session.get(Team, rep.team_id)
    manager = db.session.scalar(select(User).where(User.email == "manager@demo.local"))
    create_member_day(team, manager or rep, name="每月 18 日会员日", day_of_month=18,
                      offer="关键和合适客户：耗材九折，免费上门保养一次。",
                      tiers=["key", "suitable"])
    db.session.flush()
