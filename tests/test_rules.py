"""One source for each rule: team defaults, customer field lengths, the password policy."""

import csv
import dataclasses
import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from crm.accounts.forms import PasswordForm
from crm.accounts.models import TEAM_DEFAULTS, Role, Team, TeamDefaults, User
from crm.accounts.passwords import MIN_LENGTH, check_password_policy, temporary_password
from crm.accounts.teams import rules_for
from crm.accounts.users import reset_password
from crm.admin.forms import NewUserForm, TeamForm
from crm.columns import column_length
from crm.customers.forms import SECTION_FORMS, ContactForm, NewCustomerForm
from crm.customers.importing import COLUMNS
from crm.customers.models import Contact, Customer, Tag
from crm.customers.pool import pool_rules, warning_days
from crm.errors import DomainError
from crm.extensions import db
from crm.pipeline.deals import grade_days
from crm.pipeline.models import Grade
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
AMBIGUOUS = set("lI1O0")
# The work-chat robot is a team's connection, not a rule: it has no default, and its address
# and secret are never shown back in the form.
TEAM_CONNECTION = {"chat_channel", "chat_webhook_url", "chat_secret"}
TEAM_RULES = [f.name for f in dataclasses.fields(TeamDefaults) if f.name not in TEAM_CONNECTION]


def _signed_in(app, user) -> object:
    client = app.test_client()
    assert client.login(user.email).status_code == 303
    return client


# Team defaults -----------------------------------------------------------------------------

@pytest.mark.parametrize("rule", TEAM_RULES)
def test_team_columns_default_to_team_defaults(rule):
    column = Team.__table__.c[rule]
    value = getattr(TEAM_DEFAULTS, rule)
    assert column.default.arg == value
    assert column.server_default.arg == str(int(value) if isinstance(value, bool) else value)


def test_the_team_connection_has_no_default():
    for name in TEAM_CONNECTION:
        assert getattr(TEAM_DEFAULTS, name) is None and Team.__table__.c[name].nullable


def test_a_new_team_starts_with_team_defaults(app, make_team):
    team_id = make_team("New")
    with app.app_context():
        team = db.session.get(Team, team_id)
        assert {rule: getattr(team, rule) for rule in TEAM_RULES} == {
            rule: getattr(TEAM_DEFAULTS, rule) for rule in TEAM_RULES}


def test_the_team_form_offers_team_defaults(app, make_user):
    with app.test_request_context():
        form = TeamForm(meta={"csrf": False})
        assert {rule: form[rule].data for rule in TEAM_RULES} == {
            rule: getattr(TEAM_DEFAULTS, rule) for rule in TEAM_RULES}
    admin = _signed_in(app, make_user(Role.ADMIN))
    html = admin.get("/admin/teams").get_data(as_text=True)
    for rule in TEAM_RULES:
        value = getattr(TEAM_DEFAULTS, rule)
        if isinstance(value, bool):  # a checkbox: ticked when the default is on
            tag = re.search(rf'<input[^>]*name="{rule}"[^>]*>', html).group(0)
            assert ("checked" in tag) is value, rule
        elif re.search(rf'<select[^>]*name="{rule}"', html):
            chosen = re.search(rf'<select[^>]*name="{rule}".*?</select>', html, re.S).group(0)
            assert re.search(rf'<option selected value="{value}"', chosen), rule
        else:
            assert re.search(rf'name="{rule}"[^>]*value="{value}"', html), rule


def test_a_user_without_a_team_gets_team_defaults(app, make_user):
    office = make_user(Role.OFFICE)
    with app.app_context():
        user = db.session.get(User, office.id)
        assert pool_rules(user) == (TEAM_DEFAULTS.protection_days, TEAM_DEFAULTS.holding_limit)
        assert warning_days(user) == TEAM_DEFAULTS.expiry_warning_days
        assert rules_for(user) is TEAM_DEFAULTS
    assert grade_days(None) == {Grade.A: TEAM_DEFAULTS.grade_a_days,
                                Grade.B: TEAM_DEFAULTS.grade_b_days,
                                Grade.C: TEAM_DEFAULTS.grade_c_days}


def test_a_user_in_a_team_gets_the_teams_rules(app, make_team, make_user):
    rep = make_user(Role.REP, make_team("Sales"))
    with app.app_context():
        team = db.session.get(Team, rep.team_id)
        team.holding_limit = TEAM_DEFAULTS.holding_limit + 1
        db.session.commit()
        user = db.session.get(User, rep.id)
        assert rules_for(user) is team
        assert pool_rules(user)[1] == TEAM_DEFAULTS.holding_limit + 1


def test_both_team_pages_show_the_same_fields(app, make_user, make_team):
    team_id = make_team("Sales")
    admin = _signed_in(app, make_user(Role.ADMIN))
    new = admin.get("/admin/teams").get_data(as_text=True)
    edit = admin.get(f"/admin/teams/{team_id}/edit").get_data(as_text=True)

    def names(html):
        return re.findall(r'<(?:input|select)[^>]* name="(\w+)"', html.split("<main")[-1])

    for rule in ["name", "parent_id", *TEAM_RULES]:
        assert rule in names(new) and rule in names(edit), rule


# Customer field lengths --------------------------------------------------------------------

def _length_limits(form) -> dict[str, int]:
    return {field.name: validator.max for field in form
            if isinstance(field, StringField | TextAreaField)
            for validator in field.validators if isinstance(validator, Length)}


def _model_length(model, name: str) -> int | None:
    column = model.__table__.c.get(name)
    return getattr(column.type, "length", None) if column is not None else None


@pytest.mark.parametrize("form_class, model", [
    *[(form, Customer) for form in SECTION_FORMS.values()],
    (NewCustomerForm, Customer),
    (ContactForm, Contact),
])
def test_forms_take_text_lengths_from_the_model(app, form_class, model):
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        for field in form:
            length = _model_length(model, field.name)
            if length is None or not isinstance(field, StringField | TextAreaField):
                continue
            assert _length_limits(form).get(field.name) == length, field.name


def test_the_import_takes_lengths_from_the_model():
    for column in COLUMNS:
        length = _model_length(Customer, column.field)
        if length is not None:
            assert column.max_length == length, column.field


def test_the_customer_form_refuses_one_character_over_the_column(app, make_team, make_user):
    rep = _signed_in(app, make_user(Role.REP, make_team("Sales")))
    limit = column_length(Customer.name)
    too_long = rep.post_form("/customers", {"kind": "person", "name": "长" * (limit + 1),
                                            "tier": "general", "owner_id": ""}, headers=EN)
    assert too_long.status_code == 422
    assert f"Field cannot be longer than {limit} characters." in too_long.get_data(as_text=True)
    just_fits = rep.post_form("/customers", {"kind": "person", "name": "长" * limit,
                                             "tier": "general", "owner_id": ""})
    assert just_fits.status_code == 303


def test_the_import_refuses_one_character_over_the_column(app, make_user):
    office = _signed_in(app, make_user(Role.OFFICE))
    name_limit, org_limit = column_length(Customer.name), column_length(Customer.organisation)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["姓名", "单位", "标签"],
                                  ["甲" * name_limit, "单" * org_limit, "签" * 10],
                                  ["乙" * (name_limit + 1), "", ""],
                                  ["丙", "单" * (org_limit + 1), ""]])
    response = office.post_form(
        "/customers/import",
        {"file": (io.BytesIO(buffer.getvalue().encode("utf-8-sig")), "c.csv"), "owner_id": ""},
        content_type="multipart/form-data", headers=EN)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    html = office.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert f"Name is longer than {name_limit} characters." in html
    assert f"Organisation is longer than {org_limit} characters." in html
    assert re.search(r"<strong>1</strong> will be imported", html)
    assert re.search(r"<strong>2</strong> have errors", html)


def test_a_tag_is_as_long_as_its_column(app, make_customer):
    limit = column_length(Tag.name)
    customer_id = make_customer(tags=["标" * (limit + 5)])
    with app.app_context():
        assert [len(tag.name) for tag in db.session.get(Customer, customer_id).tags] == [limit]


def test_column_length_refuses_a_column_without_one():
    with pytest.raises(TypeError):
        column_length(Customer.needs)


# The password policy -----------------------------------------------------------------------

def test_admin_form_and_own_password_form_share_the_policy(app):
    # "fine" is exactly long enough and not guessable (zxcvbn refuses "xxxxxxxxxx").
    short, fine = "x" * (MIN_LENGTH - 1), ("Tq8#vLw2mZ" * 2)[:MIN_LENGTH]
    with app.test_request_context(headers=EN):
        with pytest.raises(DomainError) as refused:
            check_password_policy(short)
        message = str(refused.value.message)
        for password, errors in ((short, [message]), (fine, [])):
            admin = NewUserForm(MultiDict({"password": password}), meta={"csrf": False})
            admin.password.validate(admin)
            own = PasswordForm(MultiDict({"new_password": password}), meta={"csrf": False})
            own.new_password.validate(own)
            assert [str(e) for e in admin.password.errors] == errors
            assert [str(e) for e in own.new_password.errors] == errors


def test_both_pages_refuse_a_short_password(app, make_team, make_user):
    short = "x" * (MIN_LENGTH - 1)
    expected = f"A password needs at least {MIN_LENGTH} characters."
    admin = _signed_in(app, make_user(Role.ADMIN))
    created = admin.post_form("/admin/users", {
        "name": "新同事", "email": "new@example.test", "phone": "", "role": "office",
        "team_id": "", "locale": "", "timezone": "Asia/Shanghai", "password": short,
        "specialty_industries": "", "specialty_size_band": ""}, headers=EN)
    assert created.status_code == 422
    assert expected in created.get_data(as_text=True)

    rep = _signed_in(app, make_user(Role.REP, make_team("Sales")))
    changed = rep.post_form("/account/password", {
        "current_password": PASSWORD, "new_password": short, "confirm": short}, headers=EN)
    assert changed.status_code == 422
    assert expected in changed.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(User)
                                     .where(User.email == "new@example.test"))


def test_temporary_passwords_are_readable_and_meet_the_policy():
    passwords = {temporary_password() for _ in range(500)}
    assert len(passwords) == 500
    for password in passwords:
        assert not AMBIGUOUS & set(password), password
        check_password_policy(password)
        assert re.fullmatch(r"[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}", password), password


def test_a_reset_gives_a_temporary_password(app, make_team, make_user):
    rep = make_user(Role.REP, make_team("Sales"))
    with app.app_context():
        temporary = reset_password(db.session.get(User, rep.id))
        db.session.commit()
    assert not AMBIGUOUS & set(temporary)
    assert app.test_client().login(rep.email, temporary).headers["Location"] == "/account/password"


def test_an_account_created_without_a_password_gets_a_temporary_one(app, make_user):
    admin = _signed_in(app, make_user(Role.ADMIN))
    response = admin.post_form("/admin/users", {
        "name": "新同事", "email": "new@example.test", "phone": "", "role": "office",
        "team_id": "", "locale": "", "timezone": "Asia/Shanghai", "password": "",
        "specialty_industries": "", "specialty_size_band": ""})
    assert response.status_code == 200
    temporary = response.get_data(as_text=True).split('id="temporary-password">')[1].split("<")[0]
    assert re.fullmatch(r"[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}", temporary), temporary
    assert not AMBIGUOUS & set(temporary)
