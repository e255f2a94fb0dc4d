"""Scoping for every role: who sees and who may change which members."""
import pytest
from sqlalchemy import select

from learning.accounts.models import Account
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, Scope

ALL_IN_C = {"M-B1-S", "M-B1-1", "M-G1-1", "M-B2-1", "M-B2-S", "M-B3-1", "M-REV", "M-ADM"}

VISIBLE = {
    "member": set(),
    "g1_member": set(),
    "secretary": {"M-B1-S", "M-B1-1", "M-G1-1"},
    "secretary2": {"M-B2-1", "M-B2-S"},
    "reviewer": ALL_IN_C,
    "orgadmin": {"M-B1-S", "M-B1-1", "M-G1-1", "M-B2-1", "M-B2-S"},
    "superadmin": ALL_IN_C | {"M-BX-1"},
}

MANAGEABLE = {
    "member": set(),
    "g1_member": set(),
    "secretary": {"M-B1-S", "M-B1-1", "M-G1-1"},
    "secretary2": {"M-B2-1", "M-B2-S"},
    "reviewer": set(),
    "orgadmin": VISIBLE["orgadmin"],
    "superadmin": VISIBLE["superadmin"],
}


def _scope(db, tree, who):
    return Scope(db.session.get(Account, tree["accounts"][who]))


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_member_lists_hold_exactly_the_scope(db, tree, who):
    scope = _scope(db, tree, who)
    listed = set(db.session.scalars(scope.members(Permission.VIEW_MEMBERS)).unique().all())
    assert {m.external_id for m in listed} == VISIBLE[who]


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_single_member_checks_agree_with_the_lists(db, tree, who):
    scope = _scope(db, tree, who)
    own = db.session.get(Account, tree["accounts"][who]).member_id
    for member in db.session.scalars(select(Member)):
        expected_view = member.external_id in VISIBLE[who] or member.id == own
        assert scope.can_member(Permission.VIEW_MEMBERS, member) is expected_view, member.external_id
        assert scope.can_member(Permission.MANAGE_MEMBERS, member) is (member.external_id in MANAGEABLE[who])


def test_a_member_sees_only_themself(db, tree):
    scope = _scope(db, tree, "member")
    listed = db.session.scalars(scope.members(Permission.VIEW_MEMBERS, include_self=True)).unique().all()
    assert [m.external_id for m in listed] == ["M-B1-1"]
    assert not scope.has_any(Permission.VIEW_MEMBERS)


def test_a_reviewer_reads_scores_but_changes_nothing(db, tree):
    scope = _scope(db, tree, "reviewer")
    c = db.session.get(Organisation, tree["orgs"]["C"])
    assert scope.can_org(Permission.VIEW_SCORES, c)
    for permission in (Permission.MANAGE_MEMBERS, Permission.MANAGE_ORGS, Permission.RUN_CAMPAIGNS):
        assert not scope.has_any(permission)


def test_nested_grants_collapse_to_the_outermost_root(db, tree):
    from learning.accounts.models import Role
    from learning.accounts.services import grant_role

    account = db.session.get(Account, tree["accounts"]["orgadmin"])
    grant_role(account, Role.ORG_ADMIN, db.session.get(Organisation, tree["orgs"]["B1"]))
    grant_role(account, Role.ORG_ADMIN, db.session.get(Organisation, tree["orgs"]["B3"]))
    scope = Scope(account)
    assert sorted(scope.root_ids(Permission.MANAGE_MEMBERS)) == sorted([tree["orgs"]["GB"], tree["orgs"]["B3"]])


def test_an_inactive_account_reaches_nothing(db, tree):
    account = db.session.get(Account, tree["accounts"]["superadmin"])
    account.active = False
    scope = Scope(account)
    assert db.session.scalars(scope.members(Permission.VIEW_MEMBERS)).all() == []
