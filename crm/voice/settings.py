"""A team's voice settings (deadlines, survey scale, thresholds), or the defaults. The
zone its days are counted in is the team's own (Team.timezone, crm.clock.team_zone), not a
voice setting."""

from zoneinfo import ZoneInfo

from crm.accounts.models import Team
from crm.clock import team_zone
from crm.extensions import db
from crm.voice.models import VOICE_DEFAULTS, VoiceDefaults, VoiceSettings

SETTING_NAMES = ("high_hours", "normal_hours", "low_days", "survey_scale",
                 "survey_days", "low_score_stars", "low_score_nps", "silent_days")


def settings_for(team_id: int | None) -> VoiceSettings | VoiceDefaults:
    """The team's own settings, or the defaults (both read the same way)."""
    if team_id is None:
        return VOICE_DEFAULTS
    return db.session.get(VoiceSettings, team_id) or VOICE_DEFAULTS


def settings_of(user) -> VoiceSettings | VoiceDefaults:
    return settings_for(user.team_id if user is not None else None)


def zone_of_team(team_id: int | None) -> ZoneInfo:
    """The team's zone (the default zone for nobody's team)."""
    return team_zone(db.session.get(Team, team_id) if team_id is not None else None)


def save_settings(team_id: int, values: dict) -> VoiceSettings:
    row = db.session.get(VoiceSettings, team_id)
    if row is None:
        row = VoiceSettings(team_id=team_id)
        db.session.add(row)
    for name in SETTING_NAMES:
        if name in values and values[name] is not None:
            setattr(row, name, values[name])
    db.session.flush()
    return row
