"""The organisation tree: paths, kinds, moves, and subtree queries that stay one query."""
import pytest
from sqlalchemy import select

from learning.orgs.models import Member, Organisation, OrgKind
from learning.orgs.scoping import in_subtree, subtree_range
from learning.orgs.services import (
    OrgError,
    create_organisation,
    move_organisation,
    summarise_siblings,
)


def test_paths_and_depths_follow_the_parents(db, tree):
    c, gb, b1, g1 = (db.session.get(Organisation, tree["orgs"][k]) for k in ("C", "GB", "B1", "G1"))
    assert c.path == f"/{c.id}/" and c.depth == 0
    assert g1.path == f"/{c.id}/{gb.id}/{b1.id}/{g1.id}/" and g1.depth == 3
    assert g1.ancestor_ids() == [c.id, gb.id, b1.id, g1.id]


@pytest.mark.parametrize(
    "parent_key,kind",
    [("G1", OrgKind.GROUP), ("B1", OrgKind.BRANCH), ("GB", OrgKind.COMMITTEE), (None, OrgKind.GROUP)],
)
def test_kinds_only_nest_the_way_the_party_does(db, tree, parent_key, kind):
    parent = db.session.get(Organisation, tree["orgs"][parent_key]) if parent_key else None
    with pytest.raises(OrgError):
        create_organisation("错误的组织", kind, parent)


def test_only_a_branch_can_be_joint(db, tree):
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    with pytest.raises(OrgError):
        create_organisation("联合总支", OrgKind.GENERAL_BRANCH, db.session.get(Organisation, tree["orgs"]["C"]), joint=True)
    joint = create_organisation("联合支部", OrgKind.BRANCH, gb, joint=True)
    assert joint.joint


def test_subtree_range_matches_exactly_the_paths_below():
    low, high = subtree_range("/1/5/")
    inside = ["/1/5/", "/1/5/7/", "/1/5/77/9/"]
    outside = ["/1/50/", "/1/51/", "/1/6/", "/1/", "/1/4/9/", "/15/"]
    assert all(low <= p < high for p in inside)
    assert not any(low <= p < high for p in outside)


def test_all_members_under_a_committee_is_one_query(db, tree, count_queries):
    c = db.session.get(Organisation, tree["orgs"]["C"])
    path = c.path
    db.session.expunge_all()
    with count_queries() as statements:
        names = db.session.scalars(
            select(Member.name).join(Member.organisation).where(in_subtree(Organisation.path, path))
        ).all()
    assert len(statements) == 1
    assert sorted(names) == sorted(["李书记", "王党员", "赵小组", "钱二支", "孙书记", "周三支", "郑评议", "冯管理"])
    assert "吴外部" not in names


def test_similar_id_prefixes_do_not_leak_between_subtrees(db):
    """Organisation 1 must not pick up organisation 12's subtree (the trailing slash matters)."""
    roots = [create_organisation("党委0", OrgKind.COMMITTEE)]
    while not any(str(o.id).startswith(str(roots[0].id)) for o in roots[1:]):
        roots.append(create_organisation(f"党委{len(roots)}", OrgKind.COMMITTEE))
    first = roots[0]
    # ids like 1 and 10 give paths '/1/' and '/10/': the second starts with '/1'.
    assert roots[-1].path.startswith(first.path.rstrip("/"))
    ids = db.session.scalars(select(Organisation.id).where(in_subtree(Organisation.path, first.path))).all()
    assert ids == [first.id]


def test_moving_a_branch_moves_its_whole_subtree(db, tree):
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    b3 = db.session.get(Organisation, tree["orgs"]["B3"])
    other = db.session.get(Organisation, tree["orgs"]["OTHER"])
    move_organisation(b1, other)
    db.session.commit()
    g1 = db.session.get(Organisation, tree["orgs"]["G1"])
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    assert b1.parent_id == other.id
    assert b1.path == f"/{other.id}/{b1.id}/" and b1.depth == 1
    assert g1.path == f"/{other.id}/{b1.id}/{g1.id}/" and g1.depth == 2
    # The sibling that was not moved keeps its path.
    assert db.session.get(Organisation, tree["orgs"]["B3"]).path == b3.path


def test_an_organisation_cannot_move_under_itself(db, tree):
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    with pytest.raises(OrgError):
        move_organisation(gb, b1)


def test_sibling_summaries_count_whole_subtrees(db, tree, count_queries):
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    b3 = db.session.get(Organisation, tree["orgs"]["B3"])
    with count_queries() as statements:
        summary = {s.organisation.external_id: (s.child_count, s.member_count) for s in summarise_siblings([gb, b3])}
    assert len(statements) == 2
    # GB: B1 (2 members) + G1 (1) + B2 (2) = 5 members, 2 children; B3: 3 members, no children.
    assert summary == {"GB": (2, 5), "B3": (0, 3)}
