"""The customer card, the lists and search, the pool and transfers."""

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload, with_expression

from crm import access, clock
from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.customers import pool
from crm.customers.editing import (
    DuplicateCustomer,
    create_customer,
    delete_contact,
    find_referrer,
    parse_tags,
    save_contact,
    update_section,
)
from crm.customers.forms import (
    SECTION_FORMS,
    SECTION_TITLES,
    SIZE_BAND_LABELS,
    ContactForm,
    NewCustomerForm,
    ReleaseForm,
    TransferForm,
)
from crm.customers.history import timeline
from crm.customers.listing import TAB_LABELS, ListParams, customer_query, distinct_values
from crm.customers.models import (
    CHANGE_LABELS,
    GENDER_LABELS,
    KIND_LABELS,
    TIER_LABELS,
    Contact,
    Customer,
)
from crm.customers.ownership import transfer_customers
from crm.customers.phones import display_phone
from crm.errors import DomainError
from crm.extensions import db
from crm.forms import choices
from crm.htmx import is_fragment_request, redirect_after_post, render_page
from crm.navigation import safe_next_url
from crm.pagination import keyset_page
from crm.pipeline.listing import customer_deals
from crm.pipeline.models import OPEN_STAGES
from crm.routing.fit import by_fit, fit_column
from crm.routing.lookalikes import card_extras
from crm.routing.routing import route_customers
from crm.saving import run_change, save_form, saved_and_go
from crm.voice.card import card_voice

bp = Blueprint("customers", __name__, url_prefix="/customers")
PAGE_SIZE = 30


@bp.before_request
@login_required
def _signed_in_only():
    return None


@bp.context_processor
def _labels():
    return {"tier_labels": TIER_LABELS, "kind_labels": KIND_LABELS,
            "gender_labels": GENDER_LABELS, "change_labels": CHANGE_LABELS,
            "size_band_labels": SIZE_BAND_LABELS, "display_phone": display_phone}


def _assignable_users() -> list[User]:
    """Active reps and managers the current user may hand customers to."""
    return list(db.session.scalars(access.assignable_users(current_user)))


# Lists -----------------------------------------------------------------------------------

def _filter_options() -> dict:
    return {"industries": list(db.session.scalars(distinct_values(Customer.industry))),
            "regions": list(db.session.scalars(distinct_values(Customer.region)))}


@bp.get("")
def index():
    params = ListParams.from_args(request.args, current_user)
    profile_team_id = access.profile_team_id(current_user)
    query = customer_query(current_user, params).options(joinedload(Customer.owner),
                                                         selectinload(Customer.tags))
    if params.sort == "fit" and profile_team_id is not None:
        # Walks the (team, score, customer) index from the best fit down.
        query, orderings = by_fit(query, profile_team_id)
        page = keyset_page(query, orderings, request.args.get("after"), PAGE_SIZE,
                           key=lambda c: [c.fit, c.id])
    else:
        query = query.options(with_expression(Customer.fit, fit_column(profile_team_id)))
        page = keyset_page(query, [Customer.id.desc()], request.args.get("after"), PAGE_SIZE)
    may_transfer = access.may_transfer(current_user)
    context = {"page": page, "params": params, "tabs": access.list_tabs(current_user),
               "tab_labels": TAB_LABELS, "may_transfer": may_transfer,
               "fit_available": profile_team_id is not None}
    if is_fragment_request():
        return render_page("customers/index.html", "customers/_rows.html", **context)
    owners = _assignable_users() if access.looks_across_people(current_user) else []
    transfer_form = TransferForm() if may_transfer else None
    if transfer_form is not None:
        transfer_form.to_user_id.choices = choices([("", "—")] + [(u.id, u.name) for u in owners])
    return render_page("customers/index.html", owners=owners, transfer_form=transfer_form,
                       **_filter_options(), **context)


# Creating --------------------------------------------------------------------------------

def _new_form(**kwargs) -> NewCustomerForm:
    form = NewCustomerForm(**kwargs)
    owners = _assignable_users()
    form.owner_id.choices = choices([("", _("Nobody: the public pool"))]
                                    + [(u.id, u.name) for u in owners])
    form.route_team_id.choices = choices(
        [("", _("No routing"))] + [(t.id, t.name) for t in _route_teams()])
    return form


def _route_teams() -> list:
    return list(db.session.scalars(access.route_targets(current_user)))


def _chosen_route_team(team_id: int | None):
    if not team_id:
        return None
    team = next((t for t in _route_teams() if t.id == team_id), None)
    if team is None:
        raise DomainError(_("Choose a team from the list."), field="route_team_id")
    return team


@bp.get("/new")
def new():
    default_owner = current_user.id if access.may_hold_customers(current_user) else None
    return render_page("customers/new.html", form=_new_form(owner_id=default_owner))


@bp.post("")
def create():
    form = _new_form()

    def add():
        values = {name: getattr(form, name).data for name in form.data
                  if name not in ("csrf_token", "owner_id", "tags", "route_team_id")}
        route_team = _chosen_route_team(form.route_team_id.data)
        owner = None if route_team else _chosen_owner(form.owner_id.data)
        protection = {"protection_days": pool.pool_rules(owner)[0]} if owner else {}
        customer = create_customer(values, current_user, owner=owner,
                                   tags=parse_tags(form.tags.data), **protection)
        if route_team is not None:
            route_customers([customer.id], route_team, current_user)
        return customer

    return save_form(
        form, add,
        page=lambda status, **extra: render_page("customers/new.html", form=form,
                                                 status=status, **extra),
        refused=_duplicates_of,
        done=lambda customer: saved_and_go(
            url_for("customers.show", customer_id=customer.id),
            _("%(name)s is added.", name=customer.name)))


def _duplicates_of(error: DomainError) -> dict:
    """What a refused save shows of the customers it would have duplicated."""
    if not isinstance(error, DuplicateCustomer):
        return {}
    return {"duplicates": [_duplicate_view(c) for c in error.existing]}


def _chosen_owner(owner_id: int | None) -> User | None:
    """Reps always own what they add; others choose an owner or the pool."""
    if not access.may_choose_owner(current_user):
        return current_user._get_current_object()
    if not owner_id:
        return None
    allowed = {u.id: u for u in _assignable_users()}
    if owner_id not in allowed:
        raise DomainError(_("Choose an owner from the list."), field="owner_id")
    return allowed[owner_id]


def _duplicate_view(customer: Customer) -> dict:
    """What the user may learn of an existing customer: all of it if they may see it,
    otherwise only that it exists and who owns it."""
    visible = access.can_see_customer(current_user, customer.id)
    return {"id": customer.id if visible else None,
            "name": customer.name if visible else None,
            "owner": customer.owner.name if customer.owner else None, "visible": visible}



# The card --------------------------------------------------------------------------------

def _card_context(customer: Customer) -> dict:
    entries = timeline(customer.id, current_user)
    deals = customer_deals(current_user, customer.id)
    return {
        "customer": customer,
        "sections": SECTION_TITLES,
        "show_contact_details": access.may_see_contact_details(current_user, customer),
        "may_edit": access.may_edit_customer(current_user, customer),
        "may_claim": access.may_claim(current_user) and customer.owner_id is None,
        "may_release": access.may_release(current_user, customer),
        "may_transfer": access.may_transfer(current_user) and customer.owner_id is not None,
        "days_left": pool.days_left(customer),
        "warning_days": pool.warning_days(customer.owner) if customer.owner else 0,
        "timeline": entries,
        # What a rep needs at the door, before the profile: from what the card loads anyway.
        "latest_follow_up": next((e.item for e in entries if e.kind == "followup"), None),
        "open_deals": [deal for deal in deals["deals"] if deal.stage in OPEN_STAGES],
        "today": clock.local_today(),
        "release_form": ReleaseForm(),
        **card_extras(current_user, customer, entries, deals["deals"]),
        **deals,
        **card_voice(customer, current_user),
    }


@bp.get("/<int:customer_id>")
def show(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id)
    context = _card_context(customer)
    if context["may_transfer"]:
        form = TransferForm(customer_ids=[customer.id])
        form.to_user_id.choices = choices([("", "—")] + [(u.id, u.name)
                                                         for u in _assignable_users()])
        context["transfer_form"] = form
    response = render_page("customers/show.html", **context)
    # Viewing a card is personal data processing: recorded, after the page is rendered.
    record(AuditAction.VIEW, current_user.id, customer.id)
    db.session.commit()
    return response


def _section_form(section: str, customer: Customer, formdata=None):
    if section not in SECTION_FORMS:
        abort(404)
    data = {name: getattr(customer, name, None) for name in SECTION_FORMS[section]()._fields
            if name not in ("csrf_token", "version")}
    data.update(kind=customer.kind.value, tier=customer.tier.value,
                gender=customer.gender.value if customer.gender else "",
                tags=", ".join(t.name for t in customer.tags),
                referrer=customer.referrer.name if customer.referrer else "",
                version=customer.version)
    if formdata is not None:
        return SECTION_FORMS[section](formdata=formdata)
    return SECTION_FORMS[section](data=data)


@bp.get("/<int:customer_id>/sections/<section>")
def show_section(customer_id: int, section: str):
    customer = access.customer_or_404(current_user, customer_id)
    if section not in SECTION_FORMS:
        abort(404)
    context = _card_context(customer)
    response = render_page("customers/show.html", "customers/_section.html", section=section,
                           **context)
    if section == "contact" and context["show_contact_details"]:
        record(AuditAction.VIEW_CONTACT, current_user.id, customer.id)
        db.session.commit()
    return response


@bp.get("/<int:customer_id>/sections/<section>/edit")
def edit_section(customer_id: int, section: str):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = _section_form(section, customer)
    return render_page("customers/section_edit.html", "customers/_section_form.html",
                       customer=customer, section=section, form=form,
                       section_title=SECTION_TITLES[section])


@bp.post("/<int:customer_id>/sections/<section>")
def update_section_view(customer_id: int, section: str):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    form = _section_form(section, customer, formdata=request.form)

    def save():
        values = {name: field.data for name, field in form._fields.items()
                  if name not in ("csrf_token", "version", "referrer", "tags")}
        if "tags" in form._fields:
            values["tags"] = parse_tags(form.tags.data)
        if "referrer" in form._fields:
            values["referrer_id"] = find_referrer(
                form.referrer.data, customer, access.customers_scope(current_user))
        update_section(customer, form.opened_version(), section, values, current_user)

    def page(status, stale=False, duplicates=()):
        form.duplicates = list(duplicates)
        return render_page("customers/section_edit.html", "customers/_section_form.html",
                           customer=customer, section=section, form=form,
                           stale=customer if stale else None,
                           section_title=SECTION_TITLES[section], status=status)

    def done(_result):
        if is_fragment_request():
            return render_page("customers/show.html", "customers/_section.html",
                               section=section, announce=_("Saved."),
                               **_card_context(customer))
        return saved_and_go(url_for("customers.show", customer_id=customer_id), _("Saved."))

    return save_form(form, save, page=page, done=done, saved=customer, refused=_duplicates_of)


# Contacts --------------------------------------------------------------------------------

def _contact_or_404(customer: Customer, contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.customer_id != customer.id:
        abort(404)
    return contact


@bp.get("/<int:customer_id>/contacts/new")
def new_contact(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    return render_page("customers/contact_form.html", customer=customer, contact=None,
                       form=ContactForm())


@bp.post("/<int:customer_id>/contacts")
def create_contact(customer_id: int):
    return _save_contact(access.customer_or_404(current_user, customer_id, to_edit=True), None)


@bp.get("/<int:customer_id>/contacts/<int:contact_id>/edit")
def edit_contact(customer_id: int, contact_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    contact = _contact_or_404(customer, contact_id)
    return render_page("customers/contact_form.html", customer=customer, contact=contact,
                       form=ContactForm(obj=contact))


@bp.post("/<int:customer_id>/contacts/<int:contact_id>")
def update_contact(customer_id: int, contact_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    return _save_contact(customer, _contact_or_404(customer, contact_id))


def _save_contact(customer: Customer, contact: Contact | None):
    form = ContactForm()
    return save_form(
        form, lambda: save_contact(customer, form.data, current_user, contact),
        page=lambda status: render_page("customers/contact_form.html", customer=customer,
                                        contact=contact, form=form, status=status),
        done=lambda _contact: saved_and_go(
            url_for("customers.show", customer_id=customer.id) + "#contacts",
            _("Contact saved.")))


@bp.post("/<int:customer_id>/contacts/<int:contact_id>/delete")
def destroy_contact(customer_id: int, contact_id: int):
    customer = access.customer_or_404(current_user, customer_id, to_edit=True)
    contact = _contact_or_404(customer, contact_id)
    back = url_for("customers.show", customer_id=customer.id) + "#contacts"
    return run_change(lambda: delete_contact(customer, contact, current_user),
                      done=lambda _result: saved_and_go(back, _("Contact removed.")),
                      refused_url=back)


# The pool and transfers ------------------------------------------------------------------

@bp.post("/<int:customer_id>/claim")
def claim(customer_id: int):
    """Claim from the pool. Whoever loses a race is told so, even though the card may no
    longer be theirs to open (it now belongs to the winner)."""
    access.claimable_or_404(current_user, customer_id)
    return run_change(
        lambda: pool.claim_customer(customer_id, current_user),
        done=lambda customer: saved_and_go(url_for("customers.show", customer_id=customer_id),
                                           _("%(name)s is yours now.", name=customer.name)),
        refused_url=lambda: (url_for("customers.show", customer_id=customer_id)
                             if access.can_see_customer(current_user, customer_id)
                             else url_for("customers.index", tab="pool")))


@bp.post("/<int:customer_id>/release")
def release(customer_id: int):
    customer = access.customer_or_404(current_user, customer_id)
    if not access.may_release(current_user, customer):
        abort(403)
    form = ReleaseForm()
    card = url_for("customers.show", customer_id=customer_id)
    if not form.validate_on_submit():
        flash(_("Say why you release this customer."), "error")
        return redirect_after_post(card)
    return run_change(
        lambda: pool.release_customer(customer, current_user, form.reason.data),
        done=lambda _result: saved_and_go(card, _("%(name)s is back in the pool.",
                                            name=customer.name)),
        refused_url=card)


@bp.post("/transfer")
def transfer():
    if not access.may_transfer(current_user):
        abort(403)
    form = TransferForm()
    back = safe_next_url(request.form.get("back"), url_for("customers.index"))
    if not form.validate_on_submit() or not form.customer_ids.data:
        flash(_("Choose the customers and who receives them."), "error")
        return redirect_after_post(back)
    visible = list(db.session.scalars(
        access.customers_scope(current_user).where(Customer.id.in_(form.customer_ids.data),
                                                   Customer.owner_id.is_not(None))
        .with_only_columns(Customer.id)))
    receivers = {u.id: u for u in _assignable_users()}
    receiver = receivers.get(form.to_user_id.data)
    if receiver is None or len(visible) != len(set(form.customer_ids.data)):
        abort(404)
    return run_change(
        lambda: transfer_customers(visible, receiver, current_user, form.reason.data),
        done=lambda moved: saved_and_go(back, _("%(count)d customers transferred to "
                                                "%(name)s.", count=moved, name=receiver.name)),
        refused_url=back)
