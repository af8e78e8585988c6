"""Forms for office work on customers: the import upload and its confirmation."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField

from crm.forms import choices, optional_int


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or Excel file"),
                     description=_l("Up to 5,000 rows and 5 MB; the first row names the "
                                    "columns."),
                     render_kw={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-"
                                          "officedocument.spreadsheetml.sheet"})
    owner_id = SelectField(_l("Owner of the imported customers"), coerce=optional_int,
                           validate_choice=False)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_id.choices = choices(
            [("", _l("Nobody: the public pool"))]
            + [(u.id, f"{u.name} · {u.team.name}" if u.team else u.name) for u in owners])


class ConfirmImportForm(FlaskForm):
    """What to import waits on the server; the form carries the CSRF token and, for a file
    going to the pool, whether a team's routing rules hand the customers out instead."""

    route_team_id = SelectField(
        _l("Route the imported customers"), coerce=optional_int, validate_choice=False,
        description=_l("By the team's routing rules: each goes to the eligible rep with the "
                       "least open work; those nobody can take stay in the pool."))

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.route_team_id.choices = choices(
            [("", _l("No: leave them in the public pool"))]
            + [(team.id, team.name) for team in teams])
