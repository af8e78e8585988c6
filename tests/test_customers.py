"""Customers: creating without duplicates, the card, inline edits, search, tabs, contacts."""

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditAction, AuditEvent
from crm.customers.models import Contact, Customer, OwnershipChange, OwnershipEvent
from crm.extensions import db

EN = {"Accept-Language": "en"}


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _customer(app, customer_id):
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        db.session.expunge(customer)
        return customer


# Creating --------------------------------------------------------------------------------

def test_rep_adds_a_customer_they_then_own(app, world, login_as):
    rep = login_as("rep")
    response = rep.post_form("/customers", {"kind": "organisation", "name": "上海明德科技",
                                            "phone": "021-6234 5678", "tier": "suitable",
                                            "tags": "软件，重点", "owner_id": ""})
    assert response.status_code == 303
    customer_id = int(response.headers["Location"].rsplit("/", 1)[1])
    customer = _customer(app, customer_id)
    assert customer.owner_id == world.rep.id and customer.protected_until is not None
    assert customer.phone_normalized == "+862162345678"
    card = rep.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "上海明德科技" in card and "软件" in card and "重点" in card


def test_same_phone_shows_the_existing_customer_and_creates_nothing(app, world, login_as):
    rep = login_as("rep")
    before = _count(app, Customer)
    response = rep.post_form("/customers", {"kind": "person", "name": "张三丰",
                                            "phone": "138 0013 8000", "tier": "general"},
                             headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    duplicates = html.split('id="duplicates"')[1].split("</div>")[0]
    assert f'/customers/{world.customers.rep}"' in duplicates and "张三" in duplicates
    assert 'value="张三丰"' in html  # the user's input is kept
    assert _count(app, Customer) == before


def test_duplicate_of_another_reps_customer_says_who_owns_it_without_details(app, world,
                                                                               login_as):
    rep = login_as("rep")
    response = rep.post_form("/customers", {"kind": "person", "name": "新名字",
                                            "phone": "13700137000", "tier": "general"},
                             headers=EN)
    html = response.get_data(as_text=True)
    duplicates = html.split('id="duplicates"')[1].split("</div>")[0]
    assert "Rep Three" in duplicates  # who owns it...
    assert "赵六" not in duplicates  # ...but not who it is
    assert f"/customers/{world.customers.rep3}" not in duplicates


def test_same_name_and_organisation_is_a_duplicate(app, world, login_as):
    response = login_as("rep2").post_form("/customers", {
        "kind": "person", "name": "张三", "organisation": "华东机械", "tier": "general"})
    assert response.status_code == 422
    assert _count(app, Customer, Customer.name == "张三") == 1


def test_invalid_phone_is_refused_with_input_kept(world, login_as):
    response = login_as("rep").post_form("/customers", {
        "kind": "person", "name": "王小二", "phone": "12345", "tier": "general"}, headers=EN)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "valid phone number" in html and 'value="12345"' in html


# The card --------------------------------------------------------------------------------

def test_card_shows_profile_contacts_and_timeline(world, login_as):
    html = login_as("rep").get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "张三" in html and "华东机械" in html and "陈经理" in html
    assert 'href="tel:+8613800138000"' in html
    assert 'id="timeline"' in html


def test_viewing_a_card_is_audited(app, world, login_as):
    login_as("manager").get(f"/customers/{world.customers.rep}")
    assert _count(app, AuditEvent, AuditEvent.action == AuditAction.VIEW,
                  AuditEvent.customer_id == world.customers.rep,
                  AuditEvent.actor_id == world.manager.id) == 1


def test_pool_card_hides_contact_details_until_claimed(world, login_as):
    rep = login_as("rep")
    html = rep.get(f"/customers/{world.customers.pool}").get_data(as_text=True)
    assert "13600136000" not in html and "136 0013 6000" not in html and "sunqi88" not in html
    assert 'id="hidden-contact"' in html
    rep.post_form(f"/customers/{world.customers.pool}/claim")
    html = rep.get(f"/customers/{world.customers.pool}").get_data(as_text=True)
    assert "sunqi88" in html and 'href="tel:+8613600136000"' in html


def test_office_sees_pool_contact_details(world, login_as):
    html = login_as("office").get(f"/customers/{world.customers.pool}").get_data(as_text=True)
    assert "sunqi88" in html


# Inline editing --------------------------------------------------------------------------

def test_inline_edit_with_htmx_swaps_the_section(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}/sections/profile"
    form = rep.get(url + "/edit", headers={"HX-Request": "true"})
    assert form.status_code == 200 and "<html" not in form.get_data(as_text=True)
    version = world.version_of(world.customers.rep)
    saved = rep.post_form(url, {"version": str(version), "needs": "需要上门安装",
                                "pain_points": "交期太长"}, headers={"HX-Request": "true"})
    assert saved.status_code == 200
    html = saved.get_data(as_text=True)
    assert "<html" not in html and "需要上门安装" in html and 'id="section-profile"' in html
    card = rep.get(f"/customers/{world.customers.rep}").get_data(as_text=True)
    assert "已编辑" in card


def test_plain_form_edit_redirects_to_the_card(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}/sections/basics"
    page = rep.get(url + "/edit")
    assert "<html" in page.get_data(as_text=True)
    response = rep.post_form(url, {"version": str(world.version_of(world.customers.rep)),
                                   "kind": "person", "name": "张三", "tier": "key",
                                   "region": "上海", "gender": "", "size_band": ""})
    assert response.status_code == 303
    assert _customer(app, world.customers.rep).tier.value == "key"


def test_stale_section_edit_is_refused_with_both_versions(app, world, login_as):
    rep, manager = login_as("rep"), login_as("manager")
    url = f"/customers/{world.customers.rep}/sections/profile"
    opened = str(world.version_of(world.customers.rep))
    assert manager.post_form(url, {"version": opened, "needs": "经理写的"}).status_code == 303
    response = rep.post_form(url, {"version": opened, "needs": "销售写的"}, headers=EN)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved changes" in html
    assert "经理写的" in html.split('id="saved-version"')[1]
    assert "销售写的" in html  # kept in the form
    assert _customer(app, world.customers.rep).needs == "经理写的"


def test_edit_phone_checks_duplicates_and_format(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}/sections/contact"
    version = str(world.version_of(world.customers.rep))
    taken = rep.post_form(url, {"version": version, "phone": "13900139000"}, headers=EN)
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    bad = rep.post_form(url, {"version": version, "phone": "999"}, headers=EN)
    assert bad.status_code == 422
    assert _customer(app, world.customers.rep).phone_normalized == "+8613800138000"


def test_referrer_is_found_by_name_or_phone(app, world, login_as):
    rep = login_as("rep")
    url = f"/customers/{world.customers.rep}/sections/source"
    response = rep.post_form(url, {"version": str(world.version_of(world.customers.rep)),
                                   "source_channel": "转介绍", "referrer": "13600136000"})
    assert response.status_code == 303
    assert _customer(app, world.customers.rep).referrer_id == world.customers.pool


def test_rep_cannot_edit_a_pool_card(world, login_as):
    rep = login_as("rep")
    assert rep.get(f"/customers/{world.customers.pool}/sections/profile/edit").status_code == 403


# Contacts --------------------------------------------------------------------------------

def test_contacts_are_added_edited_and_removed(app, world, login_as):
    rep = login_as("rep")
    base = f"/customers/{world.customers.rep}/contacts"
    assert rep.post_form(base, {"name": "刘工", "phone": "13811112222",
                                "is_primary": "y"}).status_code == 303
    with app.app_context():
        contact = db.session.scalars(select(Contact).where(Contact.name == "刘工")).one()
        assert contact.is_primary and contact.phone_normalized == "+8613811112222"
        others = db.session.scalars(select(Contact).where(
            Contact.id != contact.id, Contact.customer_id == world.customers.rep))
        assert not any(c.is_primary for c in others)
    found = rep.get("/customers?q=liug").get_data(as_text=True)  # the contact's pinyin
    assert "张三" in found
    assert rep.post_form(f"{base}/{contact.id}", {"name": "刘总", "phone": ""}).status_code == 303
    assert rep.post_form(f"{base}/{contact.id}/delete").status_code == 303
    assert _count(app, Contact, Contact.id == contact.id) == 0


def test_contact_of_another_customer_is_404(world, login_as, add_contact):
    other = add_contact(world.customers.rep2, "别人的联系人")
    rep = login_as("rep")
    assert rep.get(f"/customers/{world.customers.rep}/contacts/{other}/edit").status_code == 404


def test_creating_logs_an_ownership_event(app, world):
    assert _count(app, OwnershipEvent, OwnershipEvent.customer_id == world.customers.rep,
                  OwnershipEvent.kind == OwnershipChange.CREATE) == 1


def test_editing_wechat_is_not_blocked_by_an_unchanged_shared_phone(app, world, login_as,
                                                                     add_contact):
    add_contact(world.customers.rep3, "共用号码", "13800138000")  # same as 张三's phone
    rep = login_as("rep")
    response = rep.post_form(f"/customers/{world.customers.rep}/sections/contact", {
        "version": str(world.version_of(world.customers.rep)), "phone": "13800138000",
        "wechat": "zhangsan_wx"})
    assert response.status_code == 303
    assert _customer(app, world.customers.rep).wechat == "zhangsan_wx"


@pytest.mark.committed  # another connection inserts the tag meanwhile
def test_a_tag_created_meanwhile_is_reused(app, world):
    from crm.customers.editing import _new_tag
    from crm.customers.models import Tag

    with app.app_context():
        customer = db.session.get(Customer, world.customers.rep)
        # Another request creates the tag after our look-up found none: our insert collides.
        with db.engine.begin() as other:
            other.execute(Tag.__table__.insert().values(name="同时创建"))
        tag = _new_tag("同时创建")
        customer.tags = [*customer.tags, tag]
        db.session.commit()
        assert sorted(t.name for t in customer.tags) == ["制造业", "同时创建"]
        assert db.session.scalar(select(func.count()).select_from(Tag)
                                 .where(Tag.name == "同时创建")) == 1
