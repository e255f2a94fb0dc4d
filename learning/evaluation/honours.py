"""表彰: branches nominate members for 优秀共产党员 and 优秀党务工作者, committees nominate the organisations
below them for 先进基层党组织 (titles as data: content/evaluation/honours.yaml), within quotas the committee
sets; the eligibility rules apply (a full member, the study-hours gate of the year, no 不合格 suggested,
nobody nominates themselves or their own organisation); a committee above the nominator approves, never the
nominator.  Approved nominations are the honours record of members and organisations."""
from __future__ import annotations

from functools import lru_cache

import yaml
from flask_babel import get_locale, lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from learning.config import PACKAGE_DIR
from learning.db import utcnow
from learning.evaluation import reports
from learning.evaluation.models import HonourQuota, Nomination, NominationStatus
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind
from learning.orgs.scoping import Permission, scope_for


class HonourError(EvaluationError):
    pass


@lru_cache(maxsize=1)
def titles() -> dict[str, dict]:
    data = yaml.safe_load((PACKAGE_DIR / "content" / "evaluation" / "honours.yaml").read_text(encoding="utf-8"))
    return {t["code"]: t for t in data["titles"]}


def title_name(code: str) -> str:
    spec = titles().get(code, {})
    english = str(get_locale() or "").startswith("en")
    return spec.get("name_en" if english else "name") or spec.get("name") or code


def quota(nominator: Organisation, year: int, title: str) -> int:
    """The nominator's quota: the nearest committee's setting above it, else the title's default."""
    ancestors = [i for i in nominator.ancestor_ids() if i != nominator.id]
    rows = {q.organisation_id: q.quota for q in db.session.scalars(select(HonourQuota).where(
        HonourQuota.organisation_id.in_(ancestors or [-1]), HonourQuota.year == year, HonourQuota.title == title))}
    for org_id in reversed(ancestors):
        if org_id in rows:
            return rows[org_id]
    return int(titles()[title].get("quota", 1))


def set_quota(actor, committee: Organisation, year: int, title: str, value: int) -> HonourQuota:
    if not scope_for(actor).can_org(Permission.MANAGE_ORGS, committee) or reports.is_branch(committee):
        raise HonourError(_l("No such organisation among those you manage."), status=404)
    if title not in titles() or not 0 <= value <= 100:
        raise HonourError(_l("A quota is a number from 0 to 100 for one of the titles."), field="quota")
    row = db.session.scalar(select(HonourQuota).where(HonourQuota.organisation_id == committee.id,
                                                      HonourQuota.year == year, HonourQuota.title == title))
    row = row or HonourQuota(organisation_id=committee.id, year=year, title=title)
    row.quota = value
    db.session.add(row)
    db.session.flush()
    return row


def member_refusal(member: Member, year: int):
    """Why ``member`` may not be honoured for ``year`` (None: eligible)."""
    from learning.points.appraisal import Grade, appraise

    if not member.active or member.status != MemberStatus.FULL:
        return _l("Only active full members are honoured.")
    branch = member.organisation.parent if member.organisation.kind == OrgKind.GROUP else member.organisation
    row = next((r for r in appraise(branch, str(year)) if r.ranking.member_id == member.id), None)
    if row is not None and row.eligible is False:
        return _l("Missed the study hours of the year: %(why)s", why=row.reason)
    if row is not None and row.grade == Grade.UNQUALIFIED:
        return _l("Suggested as unqualified in the year's appraisal.")
    return None


def nominate(actor, year: int, title: str, *, member: Member | None = None, organisation: Organisation | None = None,
             reason: str) -> Nomination:
    spec = titles().get(title)
    if spec is None:
        raise HonourError(_l("Choose one of the titles."), field="title")
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 1000:
        raise HonourError(_l("Give the reasons in 10 to 1,000 characters."), field="reason")
    if spec["subject"] == "member":
        if member is None:
            raise HonourError(_l("Choose a member."), field="member")
        branch = member.organisation.parent if member.organisation.kind == OrgKind.GROUP else member.organisation
        if not reports.may_write(actor, branch):
            raise HonourError(_l("Members are nominated by their own branch."), field="member", status=404)
        if actor.member_id == member.id:
            raise HonourError(_l("Nobody nominates themselves."), field="member")
        refusal = member_refusal(member, year)
        if refusal is not None:
            raise HonourError(refusal, field="member")
        nominator, key = branch, f"member:{member.id}"
    else:
        if organisation is None or not reports.is_branch(organisation):
            raise HonourError(_l("Choose a branch."), field="organisation")
        nominator = _nominating_committee(actor, organisation)
        if nominator is None:
            raise HonourError(_l("Branches are nominated by a committee above them."), field="organisation", status=404)
        key = f"org:{organisation.id}"
    used = db.session.scalar(select(func.count()).select_from(Nomination).where(
        Nomination.year == year, Nomination.title == title, Nomination.nominated_by_org_id == nominator.id,
        Nomination.status != NominationStatus.REFUSED)) or 0
    allowed = quota(nominator, year, title)
    if used >= allowed:
        raise HonourError(_l("%(org)s has used its quota of %(n)d for this title.", org=nominator.name, n=allowed),
                          field="title", status=409)
    nomination = Nomination(year=year, title=title, nominee_key=key, member_id=member.id if member else None,
                            organisation_id=organisation.id if organisation else None, nominated_by_org_id=nominator.id,
                            nominated_by_account_id=actor.id, reason=reason)
    try:
        with db.session.begin_nested():
            db.session.add(nomination)
            db.session.flush()
    except IntegrityError:
        raise HonourError(_l("Already nominated for this title this year."), status=409) from None
    return nomination


def _nominating_committee(actor, branch: Organisation) -> Organisation | None:
    """The organisation above ``branch`` through which ``actor`` nominates it (the nearest they manage)."""
    scope = scope_for(actor)
    ancestors = [i for i in branch.ancestor_ids() if i != branch.id]
    for org in db.session.scalars(select(Organisation).where(Organisation.id.in_(ancestors or [-1]))
                                  .order_by(Organisation.depth.desc())):
        if scope.can_org(Permission.MANAGE_ORGS, org):
            return org
    return None


def may_decide(actor, nomination: Nomination) -> bool:
    """A committee above the nominating organisation decides; never whoever nominated."""
    if actor.id == nomination.nominated_by_account_id:
        return False
    scope = scope_for(actor)
    nominator = nomination.nominated_by_org
    above = [i for i in nominator.ancestor_ids() if i != nominator.id]
    orgs = db.session.scalars(select(Organisation).where(Organisation.id.in_(above or [-1]))).all()
    return any(scope.can_org(Permission.MANAGE_ORGS, o) for o in orgs)


def decide(actor, nomination: Nomination, *, approve: bool, note: str = "") -> Nomination:
    if not may_decide(actor, nomination):
        raise HonourError(_l("A committee above the nominating organisation decides, not the nominator."), status=404)
    if nomination.status != NominationStatus.NOMINATED:
        raise HonourError(_l("This nomination is decided already."), status=409)
    if nomination.member is not None and approve:
        refusal = member_refusal(nomination.member, nomination.year)
        if refusal is not None:
            raise HonourError(refusal)
    nomination.status = NominationStatus.APPROVED if approve else NominationStatus.REFUSED
    nomination.decided_by_account_id, nomination.decided_at = actor.id, utcnow()
    nomination.decision_note = (note or "").strip()[:500] or None
    db.session.flush()
    return nomination


def in_scope(account, year: int) -> list[Nomination]:
    """Nominations of the year whose nominee the account may see."""
    scope = scope_for(account)
    rows = db.session.scalars(select(Nomination).where(Nomination.year == year).options(
        selectinload(Nomination.member).joinedload(Member.organisation), selectinload(Nomination.organisation),
        selectinload(Nomination.nominated_by_org)).order_by(Nomination.title, Nomination.id)).all()
    return [n for n in rows if (n.member is not None and scope.can_member(Permission.VIEW_MEMBERS, n.member)) or
            (n.organisation is not None and scope.can_org(Permission.VIEW_MEMBERS, n.organisation))]


def record_of_member(member_id: int) -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(Nomination.member_id == member_id,
                                                            Nomination.status == NominationStatus.APPROVED)
                                   .order_by(Nomination.year.desc())))


def record_of_org(org_id: int) -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(Nomination.organisation_id == org_id,
                                                            Nomination.status == NominationStatus.APPROVED)
                                   .order_by(Nomination.year.desc())))
