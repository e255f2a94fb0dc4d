"""A small organisation tree with accounts for every role, built through the services.

    C  中共测试委员会 (committee)
    ├── GB 第一党总支 (general_branch)
    │   ├── B1 一支部 (branch) ── G1 一支部第一党小组 (group)
    │   └── B2 二支部 (branch)
    └── B3 三支部 (branch)
    OTHER 另一委员会 (committee) ── BX 外部支部 (branch)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from learning.accounts.models import Role
from learning.accounts.services import create_account
from learning.extensions import db
from learning.orgs.models import MemberStatus, OrgKind
from learning.orgs.services import create_member, create_organisation

PASSWORD = "Passw0rd-test"


@dataclass
class Tree:
    orgs: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)

    def ids(self):
        """Plain ids, usable after the session that loaded the objects is gone."""
        return {
            "orgs": {k: v.id for k, v in self.orgs.items()},
            "members": {k: v.id for k, v in self.members.items()},
            "accounts": {k: v.id for k, v in self.accounts.items()},
        }


def build_tree() -> Tree:
    t = Tree()
    o = t.orgs
    o["C"] = create_organisation("中共测试委员会", OrgKind.COMMITTEE, external_id="C")
    o["GB"] = create_organisation("第一党总支", OrgKind.GENERAL_BRANCH, o["C"], external_id="GB")
    o["B1"] = create_organisation("一支部", OrgKind.BRANCH, o["GB"], external_id="B1")
    o["G1"] = create_organisation("一支部第一党小组", OrgKind.GROUP, o["B1"], external_id="G1")
    o["B2"] = create_organisation("二支部", OrgKind.BRANCH, o["GB"], external_id="B2")
    o["B3"] = create_organisation("三支部", OrgKind.BRANCH, o["C"], external_id="B3")
    o["OTHER"] = create_organisation("另一委员会", OrgKind.COMMITTEE, external_id="OTHER")
    o["BX"] = create_organisation("外部支部", OrgKind.BRANCH, o["OTHER"], external_id="BX")

    m = t.members
    m["b1_secretary"] = create_member("李书记", o["B1"], external_id="M-B1-S")
    m["b1_member"] = create_member("王党员", o["B1"], external_id="M-B1-1")
    m["g1_member"] = create_member("赵小组", o["G1"], MemberStatus.PROBATIONARY, external_id="M-G1-1")
    m["b2_member"] = create_member("钱二支", o["B2"], external_id="M-B2-1")
    m["b2_secretary"] = create_member("孙书记", o["B2"], external_id="M-B2-S")
    m["b3_member"] = create_member("周三支", o["B3"], MemberStatus.ACTIVIST, external_id="M-B3-1")
    m["bx_member"] = create_member("吴外部", o["BX"], external_id="M-BX-1")
    m["reviewer"] = create_member("郑评议", o["B3"], external_id="M-REV")
    m["orgadmin"] = create_member("冯管理", o["B3"], external_id="M-ADM")

    a = t.accounts
    a["member"] = create_account("member", PASSWORD, member=m["b1_member"])
    a["g1_member"] = create_account("g1member", PASSWORD, member=m["g1_member"])
    a["secretary"] = create_account("secretary", PASSWORD, member=m["b1_secretary"], role=Role.BRANCH_SECRETARY, organisation=o["B1"])
    a["secretary2"] = create_account("secretary2", PASSWORD, member=m["b2_secretary"], role=Role.BRANCH_SECRETARY, organisation=o["B2"])
    a["reviewer"] = create_account("reviewer", PASSWORD, member=m["reviewer"], role=Role.REVIEWER, organisation=o["C"])
    a["orgadmin"] = create_account("orgadmin", PASSWORD, member=m["orgadmin"], role=Role.ORG_ADMIN, organisation=o["GB"])
    a["superadmin"] = create_account("root", PASSWORD, role=Role.SUPERADMIN, display_name="运维")
    db.session.commit()
    return t


def give_points(member, points: int, admin, reason: str = "测试", occurred_at=None):
    """Manual points counted at once, straight through ``award`` (for tests about what scores lead
    to; the review of manual points is tested through ``points.manual``)."""
    import uuid

    from learning.points.services import award

    code = "manual_bonus" if points > 0 else "manual_deduction"
    return award(code, member=member, source_key=f"manual:{uuid.uuid4().hex}", points=abs(points), reason=reason,
                 actor=admin, occurred_at=occurred_at)
