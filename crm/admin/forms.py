"""Forms for the admin's account and team pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from crm.accounts.forms import meets_password_policy
from crm.accounts.models import ROLE_LABELS, TEAM_DEFAULTS, Team, User
from crm.clock import is_valid_timezone, timezone_choices
from crm.columns import column_length
from crm.forms import EMAIL_SHAPE, LOCALE_CHOICES, VersionedForm, choices, optional_int

SIZE_BANDS = [("micro", _l("Under 10 staff")), ("small", _l("10–99 staff")),
              ("medium", _l("100–999 staff")), ("large", _l("1,000 staff or more"))]


class UserForm(VersionedForm):
    name = StringField(_l("Name"),
                       validators=[DataRequired(), Length(max=column_length(User.name))])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), EMAIL_SHAPE,
                                                 Length(max=column_length(User.email))])
    phone = StringField(_l("Phone"),
                        validators=[Optional(), Length(max=column_length(User.phone))])
    role = SelectField(_l("Role"),
                       choices=choices((r.value, label) for r, label in ROLE_LABELS.items()))
    team_id = SelectField(_l("Team"), coerce=optional_int, validate_choice=False)
    locale = SelectField(_l("Language"),
                         choices=choices([("", _l("As the browser says")), *LOCALE_CHOICES]))
    timezone = SelectField(_l("Time zone"))
    specialty_industries = StringField(_l("Industries they specialise in"),
                                       validators=[Optional(), Length(max=500)],
                                       description=_l("Separate with commas; "
                                                      "used to route new leads."))
    specialty_size_band = SelectField(_l("Customer size they specialise in"),
                                      choices=choices([("", "—"), *SIZE_BANDS]))
    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = choices(timezone_choices())
        self.team_id.choices = choices([("", "—")] + [
            (team.id, "· " * team.depth + team.name) for team in teams])
        self._team_ids = {team.id for team in teams}

    def validate_team_id(self, field):
        if field.data is not None and field.data not in self._team_ids:
            raise ValidationError(_l("Choose a team from the list."))

    def validate_timezone(self, field):
        if not is_valid_timezone(field.data or ""):
            raise ValidationError(_l("Unknown time zone."))


class NewUserForm(UserForm):
    password = PasswordField(
        _l("Initial password"), validators=[Optional(), meets_password_policy],
        description=_l("Leave empty to generate one; the user changes it at first sign-in."))


WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"),
                       validators=[DataRequired(), Length(max=column_length(Team.name))])
    parent_id = SelectField(_l("Part of"), coerce=optional_int, validate_choice=False)
    # A new team's form starts at TEAM_DEFAULTS, what a team created elsewhere gets too.
    protection_days = IntegerField(
        _l("Days a claimed customer stays protected"), default=TEAM_DEFAULTS.protection_days,
        validators=[DataRequired(), NumberRange(min=1, max=365)])
    holding_limit = IntegerField(
        _l("Most customers one rep may hold"), default=TEAM_DEFAULTS.holding_limit,
        validators=[DataRequired(), NumberRange(min=1, max=100000)])
    expiry_warning_days = IntegerField(
        _l("Warn this many days before protection ends"),
        default=TEAM_DEFAULTS.expiry_warning_days,
        validators=[DataRequired(), NumberRange(min=1, max=60)])
    # Optional so that forms and scripts written before it existed still save; empty keeps
    # the team's current target.
    daily_review_target = IntegerField(
        _l("Recordings a manager aims to review each day"),
        default=TEAM_DEFAULTS.daily_review_target,
        validators=[Optional(), NumberRange(min=0, max=50)])
    # Pipeline grade windows; left empty, the team keeps what it has.
    grade_a_days = IntegerField(_l("An A deal signs within (days)"),
                                default=TEAM_DEFAULTS.grade_a_days,
                                validators=[Optional(), NumberRange(min=1, max=365)])
    grade_b_days = IntegerField(_l("A B deal signs within (days)"),
                                default=TEAM_DEFAULTS.grade_b_days,
                                validators=[Optional(), NumberRange(min=1, max=365)])
    grade_c_days = IntegerField(_l("A C deal signs within (days)"),
                                default=TEAM_DEFAULTS.grade_c_days,
                                validators=[Optional(), NumberRange(min=1, max=365)])
    # Left empty, the team keeps what it has.
    check_in_far_metres = IntegerField(
        _l("Flag a check-in farther than this from the customer (metres)"),
        default=TEAM_DEFAULTS.check_in_far_metres,
        validators=[Optional(), NumberRange(min=20, max=50000)])

    # Goals, dashboard and reports: the team's zone, its leaderboard, its report hours (each
    # optional: left empty, the team keeps what it has).
    timezone = SelectField(_l("Days, weeks and months are counted in"),
                           default=TEAM_DEFAULTS.timezone,
                           validators=[Optional()], validate_choice=False)
    leaderboard_hides_amounts = BooleanField(_l("The leaderboard hides amounts"))
    report_daily_hour = IntegerField(_l("Daily report at (hour, 0–23)"),
                                     default=TEAM_DEFAULTS.report_daily_hour,
                                     validators=[Optional(), NumberRange(min=0, max=23)])
    report_weekly_day = SelectField(_l("Weekly report on"), coerce=optional_int,
                                    default=TEAM_DEFAULTS.report_weekly_day,
                                    validators=[Optional()], validate_choice=False)
    report_weekly_hour = IntegerField(_l("Weekly report at (hour, 0–23)"),
                                      default=TEAM_DEFAULTS.report_weekly_hour,
                                      validators=[Optional(), NumberRange(min=0, max=23)])
    report_monthly_hour = IntegerField(_l("Monthly report on the 1st at (hour, 0–23)"),
                                       default=TEAM_DEFAULTS.report_monthly_hour,
                                       validators=[Optional(), NumberRange(min=0, max=23)])

    # Reminders (crm.reminders); left empty, the team keeps what it has.
    followup_overdue_days = IntegerField(
        _l("Remind again when a follow-up is overdue by (days)"),
        default=TEAM_DEFAULTS.followup_overdue_days,
        validators=[Optional(), NumberRange(min=1, max=60)])
    followup_escalate_days = IntegerField(
        _l("Overdue follow-ups escalate to the manager after (days)"),
        default=TEAM_DEFAULTS.followup_escalate_days,
        validators=[Optional(), NumberRange(min=1, max=90)])
    revisit_days = StringField(
        _l("After-sales revisits after a won deal (days, comma-separated)"),
        default=TEAM_DEFAULTS.revisit_days,
        validators=[Optional(), Length(max=column_length(Team.revisit_days)),
                    Regexp(r"^\s*\d{1,4}(\s*[,，]\s*\d{1,4})*\s*$", message=_l(
                        "Enter days as numbers separated by commas, such as 7,30,90."))])
    revisit_every_days = IntegerField(_l("Then revisit every (days)"),
                                      default=TEAM_DEFAULTS.revisit_every_days,
                                      validators=[Optional(), NumberRange(min=0, max=3650)])
    birthday_days = IntegerField(_l("Announce birthdays this many days ahead"),
                                 default=TEAM_DEFAULTS.birthday_days,
                                 validators=[Optional(), NumberRange(min=1, max=30)])
    drought_days = IntegerField(_l("Alert managers after this many days without a new A deal"),
                                default=TEAM_DEFAULTS.drought_days,
                                validators=[Optional(), NumberRange(min=1, max=90)])
    chat_channel = SelectField(_l("Work-chat robot"), default="", choices=choices(
        [("", _l("None")), ("wecom", _l("WeCom (企业微信)")), ("dingtalk", _l("DingTalk (钉钉)")),
         ("feishu", _l("Feishu (飞书)"))]))
    chat_webhook_url = StringField(
        _l("Robot webhook address"),
        validators=[Optional(), Length(max=column_length(Team.chat_webhook_url)),
                    Regexp(r"^https?://\S+$", message=_l("Enter the robot's https address."))],
        description=_l("Leave empty to keep the saved one. WeCom robots have no secret (the "
                       "key is in the address)."))
    chat_secret = PasswordField(_l("Signing secret"), validators=[
        Optional(), Length(max=column_length(Team.chat_secret))])

    def __init__(self, *args, teams=(), exclude_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = choices([("", "—"), *timezone_choices()])
        self.report_weekly_day.choices = choices(
            [("", "—")] + [(n, label) for n, label in enumerate(WEEKDAYS)])
        # The robot's address carries its key: never shown back; empty keeps it.
        saved = kwargs.get("obj")
        self.has_saved_robot = bool(saved is not None and saved.chat_webhook_url)
        if not self.is_submitted():
            self.chat_webhook_url.data = ""
        allowed = [t for t in teams if not (exclude_path and t.path.startswith(exclude_path))]
        self.parent_id.choices = choices([("", _l("— top level —"))] + [
            (team.id, "· " * team.depth + team.name) for team in allowed])
        self._team_ids = {team.id for team in allowed}

    def validate_timezone(self, field):
        if field.data and not is_valid_timezone(field.data):
            raise ValidationError(_l("Unknown time zone."))

    def validate_report_weekly_day(self, field):
        if field.data is not None and field.data not in range(7):
            raise ValidationError(_l("Choose a day from the list."))

    def validate_parent_id(self, field):
        if field.data is not None and field.data not in self._team_ids:
            raise ValidationError(_l("Choose a team from the list."))


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"))
    role = SelectField(_l("Role"), choices=choices(
        [("", _l("All roles"))] + [(r.value, label) for r, label in ROLE_LABELS.items()]))
    team_id = SelectField(_l("Team"), coerce=optional_int, validate_choice=False)
    status = SelectField(_l("Status"), choices=choices([("active", _l("Active")),
                                                        ("inactive", _l("Deactivated")),
                                                        ("all", _l("All"))]))
    after = HiddenField()
