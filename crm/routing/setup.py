"""A manager's routing setup: rules in order, the team's settings and lead form link,
the profile, and each rep's specialties and absence."""

import secrets
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.accounts.models import Team, User
from crm.customers.forms import SIZE_BAND_LABELS
from crm.customers.models import Tier
from crm.errors import DomainError
from crm.extensions import db
from crm.queue import enqueue_after_commit
from crm.routing import fit
from crm.routing.models import BalanceBy, ProfileField, RoutingRule, TeamRouting
from crm.routing.routing import split_values

RULE_FIELDS = ("name", "industries", "size_bands", "regions", "sources", "match_industry",
               "match_size", "match_region")
MAX_WEIGHT = 100


def _clean_list(text: str | None) -> str | None:
    """Stored as typed but tidied: "制造业，医疗 ," → "制造业, 医疗"."""
    values = [part.strip() for part in (text or "").replace("，", ",").replace("、", ",")
              .split(",") if part.strip()]
    return ", ".join(dict.fromkeys(values)) or None


def _check_sizes(text: str | None) -> None:
    unknown = split_values(text) - set(SIZE_BAND_LABELS)
    if unknown:
        raise DomainError(_l("Sizes are micro, small, medium or large."), field="size_bands")


def save_rule(team: Team, values: dict, rule: RoutingRule | None = None) -> RoutingRule:
    _check_sizes(values.get("size_bands"))
    if rule is None:
        last = db.session.scalar(select(func.max(RoutingRule.position))
                                 .where(RoutingRule.team_id == team.id))
        rule = RoutingRule(team_id=team.id, position=(last + 1) if last is not None else 0)
        db.session.add(rule)
    for name in RULE_FIELDS:
        value = values.get(name)
        if name.startswith("match_"):
            value = bool(value)
        elif name != "name":
            value = _clean_list(value)
        else:
            value = (value or "").strip()
        setattr(rule, name, value)
    db.session.flush()
    return rule


def delete_rule(rule: RoutingRule) -> None:
    db.session.delete(rule)


def move_rule_up(rule: RoutingRule) -> None:
    """Swap the rule with the one before it; positions are renumbered 0, 1, 2…"""
    rules = list(db.session.scalars(select(RoutingRule).where(RoutingRule.team_id == rule.team_id)
                                    .order_by(RoutingRule.position, RoutingRule.id)))
    index = rules.index(rule)
    if index > 0:
        rules[index - 1], rules[index] = rules[index], rules[index - 1]
    for position, each in enumerate(rules):
        each.position = position


def team_settings(team: Team) -> TeamRouting:
    """The team's settings row, created on a save (never on a read)."""
    settings = db.session.get(TeamRouting, team.id)
    if settings is None:
        settings = TeamRouting(team_id=team.id, balance_by=BalanceBy.CUSTOMERS, turn=0)
        db.session.add(settings)
    return settings


def set_balance(team: Team, balance_by: str) -> None:
    team_settings(team).balance_by = BalanceBy(balance_by)


def renew_lead_form(team: Team) -> str:
    """A new link for the team's public lead form; the old one stops working."""
    settings = team_settings(team)
    settings.lead_form_token = secrets.token_urlsafe(24)
    return settings.lead_form_token


def close_lead_form(team: Team) -> None:
    team_settings(team).lead_form_token = None


# The profile -------------------------------------------------------------------------------

PROFILE_FORMAT = _l("Write each value as value:weight (a whole number from 1 to 100), with "
                    "commas between.")


def parse_profile(texts: dict[str, str]) -> list[tuple[str, str, int]]:
    """{"industry": "制造业:3, 医疗:2"} → [("industry", "制造业", 3), ("industry", "医疗", 2)]."""
    criteria = []
    for field in ProfileField:
        text = (texts.get(field.value) or "").replace("，", ",").replace("：", ":")
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            value, _sep, weight = part.rpartition(":")
            value = value.strip()
            if not value or not weight.strip().isdigit() or not (
                    1 <= int(weight) <= MAX_WEIGHT) or len(value) > 60:
                raise DomainError(PROFILE_FORMAT, field=field.value)
            if field == ProfileField.SIZE_BAND and value.lower() not in SIZE_BAND_LABELS:
                raise DomainError(_l("Sizes are micro, small, medium or large."),
                                  field=field.value)
            if field == ProfileField.TIER and value.lower() not in set(Tier):
                raise DomainError(_l("Tiers are general, suitable or key."), field=field.value)
            if field in (ProfileField.SIZE_BAND, ProfileField.TIER):
                value = value.lower()
            criteria.append((field.value, value, int(weight)))
    return criteria


def profile_texts(team_id: int) -> dict[str, str]:
    texts: dict[str, list[str]] = {field.value: [] for field in ProfileField}
    for criterion in fit.profile_of(team_id):
        texts[criterion.field.value].append(f"{criterion.value}:{criterion.weight}")
    return {field: ", ".join(values) for field, values in texts.items()}


def save_profile(team: Team, texts: dict[str, str]) -> None:
    """Save the profile; the worker rescores every customer once it is committed."""
    fit.set_profile(team.id, parse_profile(texts), rescore=False)
    enqueue_after_commit("crm.routing.jobs.rescore_team", team.id)


# People ------------------------------------------------------------------------------------

def save_person(person: User, values: dict) -> None:
    """A rep's specialties and absence. A core UPDATE: an admin's open edit of the account
    (versioned) is not made stale by it."""
    from sqlalchemy import update

    away = values.get("away_until")
    if away is not None and not isinstance(away, date):
        raise DomainError(_l("Enter a date."), field="away_until")
    size = (values.get("specialty_size_band") or "").strip() or None
    if size is not None and size not in SIZE_BAND_LABELS:
        raise DomainError(_l("Choose a value from the list."), field="specialty_size_band")
    db.session.execute(update(User).where(User.id == person.id).values(
        specialty_industries=_clean_list(values.get("specialty_industries")),
        specialty_size_band=size,
        specialty_regions=_clean_list(values.get("specialty_regions")),
        away_until=away).execution_options(synchronize_session=False))
    db.session.expire(person)
