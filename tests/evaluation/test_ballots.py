"""民主评议: the yearly ballot, worked by hand on B1 of the small tree with three more full members.

B1's full members: 李书记 (S), 王党员 (W), 陈一 (A), 陈二 (B), 陈三 (C); 赵小组 (P) of its group is
probationary: P votes but is not graded.  Points in 2026: S 20, W 10, A 10, B 0, C −5, so among the five
full members the percentiles are 100, 75, 75, 25, 0.  scoring.yaml: grades valued 100/80/60/0, ballot 0.7,
points 0.3, bands 85/60/40, 优秀 at most a third (of 5: 1).  The GB committee opens the window.
"""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from learning.accounts.models import Account
from learning.evaluation import ballots
from learning.evaluation.models import Ballot, BallotVote
from learning.notifications.models import Notification
from learning.orgs.models import Member, MemberStatus, Organisation
from learning.orgs.services import create_member
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, give_points

SHANGHAI = timezone(timedelta(hours=8))
OPENS = datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)
CLOSES = datetime(2026, 12, 15, 18, tzinfo=SHANGHAI)
DURING = datetime(2026, 12, 3, 10, tzinfo=SHANGHAI)
AFTER = datetime(2026, 12, 16, 10, tzinfo=SHANGHAI)
E, Q, BQ, U = "excellent", "qualified", "basically_qualified", "unqualified"


@pytest.fixture
def clock():
    with time_machine.travel(DURING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def branch(db, tree, rules, clock):
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    people = {"S": db.session.get(Member, tree["members"]["b1_secretary"]),
              "W": db.session.get(Member, tree["members"]["b1_member"]),
              "P": db.session.get(Member, tree["members"]["g1_member"])}
    for key, name in (("A", "陈一"), ("B", "陈二"), ("C", "陈三")):
        people[key] = create_member(name, b1, MemberStatus.FULL, external_id=f"M-B1-{key}")
    admin = db.session.get(Account, tree["accounts"]["orgadmin"])
    at = datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    for key, pts in (("S", 20), ("W", 10), ("A", 10), ("C", -5)):
        give_points(people[key], pts, admin, occurred_at=at)
    db.session.commit()
    return people


@pytest.fixture
def window(db, tree, branch):
    opened = ballots.open_window(db.session.get(Account, tree["accounts"]["orgadmin"]),
                                 db.session.get(Organisation, tree["orgs"]["GB"]), 2026, OPENS, CLOSES)
    db.session.commit()
    return opened


# Who gives whom what (the voter is never stored with it).
VOTES = {
    "S": {"W": E, "A": E, "B": Q, "C": BQ},
    "W": {"S": E, "A": E, "B": Q, "C": BQ},
    "A": {"S": E, "W": E, "B": Q, "C": U},
    "B": {"S": E, "W": E, "A": E, "C": U},
    "C": {"S": E, "W": E, "A": E, "B": Q},
    "P": {"S": E, "W": Q, "A": Q, "B": Q, "C": BQ},
}


def vote_all(db, people):
    for voter, grades in VOTES.items():
        ballots.cast(people[voter], f"{people[voter].name}的年度自评：认真学习，积极服务。",
                     {people[k].id: g for k, g in grades.items()})
    db.session.commit()


def test_grades_combine_the_ballot_and_points_within_the_third(db, tree, branch, window, clock):
    from learning.courses.services import set_quota

    set_quota(db.session.get(Organisation, tree["orgs"]["B1"]), "year", Decimal(0), Decimal(0))  # everyone meets it
    vote_all(db, branch)
    clock.move_to(AFTER)
    lines = {line.member.name: line for line in ballots.results(window, db.session.get(Organisation, tree["orgs"]["B1"]))}
    assert sorted(lines) == ["李书记", "王党员", "陈一", "陈三", "陈二"]  # 赵小组 votes but is not graded
    table = {name: (line.counts[E], line.counts[Q], line.counts[BQ], line.counts[U], line.ballot_score, line.percentile,
                    line.combined, line.grade) for name, line in lines.items()}
    assert table == {
        "李书记": (5, 0, 0, 0, 100.0, 100.0, 100.0, E),  # 0.7 × 100 + 0.3 × 100
        "王党员": (4, 1, 0, 0, 96.0, 75.0, 89.7, Q),  # 0.7 × 96 + 0.3 × 75: excellent by band, but the
        "陈一": (4, 1, 0, 0, 96.0, 75.0, 89.7, Q),  # tie of two does not fit the one place left
        "陈二": (0, 5, 0, 0, 80.0, 25.0, 63.5, Q),
        "陈三": (0, 0, 3, 2, 36.0, 0.0, 25.2, U),  # (3 × 60 + 2 × 0) / 5
    }


def test_without_the_study_hours_nobody_is_suggested_as_excellent(client, db, tree, branch, window, clock):
    vote_all(db, branch)  # nobody has studied: the default quota is not met
    clock.move_to(AFTER)
    lines = {line.member.name: line.grade for line in ballots.results(window, db.session.get(Organisation, tree["orgs"]["B1"]))}
    assert lines == {"李书记": Q, "王党员": Q, "陈一": Q, "陈二": Q, "陈三": U}
    login(client, "secretary", PASSWORD)
    html = client.get(f"/admin/evaluation/ballots/{window.id}/branches/{tree['orgs']['B1']}").get_data(as_text=True)
    assert "学时未达标，不建议评为优秀" in html and "陈一的年度自评" in html and "支部书记签字" in html


def test_a_member_votes_changes_the_ballot_until_it_closes_and_sees_only_their_own(client, app, db, tree, branch, window, clock):
    notified = db.session.scalars(sa.select(Notification.member_id).where(Notification.kind == "ballot_opened")).all()
    assert tree["members"]["g1_member"] in notified and tree["members"]["b2_member"] in notified  # all of GB's voters
    assert tree["members"]["b3_member"] not in notified  # B3 is not under GB
    login(client, "member", PASSWORD)  # 王党员
    page = client.get("/ballot").get_data(as_text=True)
    assert page.count('type="radio"') == 4 * 4 and f'name="grade-{branch["W"].id}"' not in page  # four others, not himself
    form = {"csrf_token": csrf_token(client, "/ballot"), "self_assessment": "本年度认真学习党章，参加志愿服务。"}
    form.update({f"grade-{branch[k].id}": g for k, g in VOTES["W"].items()})
    done = client.post("/ballot", data=form, follow_redirects=True).get_data(as_text=True)
    assert "评议表已提交" in done and f'name="grade-{branch["C"].id}" value="basically_qualified" checked' in done
    form[f"grade-{branch['C'].id}"] = Q  # changed his mind
    client.post("/ballot", data=form)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
    assert sorted(db.session.scalars(sa.select(BallotVote.grade).where(BallotVote.ratee_member_id == branch["C"].id))) == [Q]
    other = app.test_client()
    login(other, "g1member", PASSWORD)  # 赵小组 sees none of 王党员's choices
    assert "checked" not in other.get("/ballot").get_data(as_text=True)
    missing = dict(form)
    del missing[f"grade-{branch['B'].id}"]
    assert "请为本支部每一名其他正式党员评定等次" in client.post("/ballot", data=missing, follow_redirects=True).get_data(as_text=True)
    clock.move_to(AFTER)
    with pytest.raises(ballots.BallotError):
        ballots.cast(branch["W"], "截止以后再改一次试试看。", {branch[k].id: E for k in "SABC"})
    login(client, "member", PASSWORD)  # a fortnight later: a new session
    assert "目前没有进行中的民主评议" in client.get("/ballot").get_data(as_text=True)


def test_votes_are_secret(app, db, tree, branch, window):
    vote_all(db, branch)
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("ballot_vote")}
    assert columns == {"key", "window_id", "branch_id", "voter_token", "ratee_member_id", "grade"}  # no voter, no time
    ballot_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("ballot")}
    assert not ballot_columns & {"grade", "votes", "token", "voter_token"}
    tokens = list(db.session.scalars(sa.select(BallotVote.voter_token)))
    assert len(tokens) == len(set(tokens)) == sum(len(v) for v in VOTES.values()) == 25  # no two votes share one
    import hashlib

    plain = {hashlib.sha256(f"ballot:{window.id}:{v.id}:{r.id}".encode()).hexdigest()
             for v in branch.values() for r in branch.values()}
    assert not set(tokens) & plain  # only the server's secret key links a token to a voter
    app.config["SECRET_KEY"] = "another key"
    assert ballots.my_ballot(window, branch["W"]).grades == {}  # without the key, not even the voter's own


def test_turnout_is_live_and_results_wait_for_the_close(client, db, tree, branch, window, clock):
    ballots.cast(branch["W"], "本年度认真学习党章，参加志愿服务。", {branch[k].id: g for k, g in VOTES["W"].items()})
    db.session.commit()
    rows = {r["branch"].name: (r["voters"], r["voted"]) for r in ballots.turnout(window)}
    assert rows == {"一支部": (6, 1), "二支部": (2, 0)}
    login(client, "orgadmin", PASSWORD)
    html = client.get(f"/admin/evaluation/ballots/{window.id}").get_data(as_text=True)
    assert "17%" in html and "结果</a>" not in html
    early = client.get(f"/admin/evaluation/ballots/{window.id}/branches/{tree['orgs']['B1']}", follow_redirects=True)
    assert "评议结束后才能查看结果。" in early.get_data(as_text=True)
    token = csrf_token(client, f"/admin/evaluation/ballots/{window.id}")
    client.post(f"/admin/evaluation/ballots/{window.id}/close", data={"csrf_token": token})
    db.session.refresh(window)
    assert ballots.state(window) == "closed"
    assert "一支部" in client.get(f"/admin/evaluation/ballots/{window.id}/branches/{tree['orgs']['B1']}").get_data(as_text=True)


def test_who_opens_and_who_sees(client, app, db, tree, branch):
    login(client, "secretary", PASSWORD)  # a branch secretary does not open the committee's ballot
    token = csrf_token(client, "/admin/evaluation/ballots/")
    form = {"csrf_token": token, "organisation": tree["orgs"]["B1"], "year": 2026,
            "opens_at": "2026-12-01T09:00", "closes_at": "2026-12-15T18:00"}
    assert client.post("/admin/evaluation/ballots/", data=form).status_code == 403
    admin = app.test_client()
    login(admin, "orgadmin", PASSWORD)
    form["csrf_token"], form["organisation"] = csrf_token(admin, "/admin/evaluation/ballots/"), tree["orgs"]["GB"]
    assert admin.post("/admin/evaluation/ballots/", data=form).status_code == 302
    again = admin.post("/admin/evaluation/ballots/", data=form).get_data(as_text=True)
    assert "第一党总支已经开启过 2026 年的民主评议。" in again
    long = dict(form, year=2027, opens_at="2027-12-01T09:00", closes_at="2028-03-01T09:00")
    assert "评议开放时间最长 60 天。" in admin.post("/admin/evaluation/ballots/", data=long).get_data(as_text=True)
    other = dict(form, organisation=tree["orgs"]["OTHER"], year=2028)  # another committee's: not a choice
    assert admin.post("/admin/evaluation/ballots/", data=other).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ballots.BallotWindow)) == 1
    member = app.test_client()
    login(member, "member", PASSWORD)
    assert member.get("/admin/evaluation/ballots/").status_code == 403
    outside = app.test_client()
    login(outside, "root", PASSWORD)
    assert outside.get("/ballot").status_code == 200  # no member record: the empty state


def test_a_secretary_follows_their_own_branch_only(client, db, tree, branch, window, clock):
    vote_all(db, branch)
    clock.move_to(AFTER)
    login(client, "secretary", PASSWORD)
    assert f"/admin/evaluation/ballots/{window.id}" in client.get("/admin/evaluation/ballots/").get_data(as_text=True)
    html = client.get(f"/admin/evaluation/ballots/{window.id}").get_data(as_text=True)
    assert "一支部" in html and "二支部" not in html and "100%" in html  # 6 of 6
    assert client.get(f"/admin/evaluation/ballots/{window.id}/branches/{tree['orgs']['B2']}").status_code == 404
    assert client.post(f"/admin/evaluation/ballots/{window.id}/close",
                       data={"csrf_token": csrf_token(client, "/admin/evaluation/ballots/")}).status_code == 403


def test_the_api_casts_a_ballot_and_gives_counts_never_voters(client, db, tree, branch, window, clock):
    from tests.api.test_api import token_for

    member = {"Authorization": f"Bearer {token_for(client, 'member')}"}
    current = client.get("/api/v1/ballots/current", headers=member).get_json()
    assert current["year"] == 2026 and current["submitted"] is False
    assert sorted(c["name"] for c in current["candidates"]) == ["李书记", "陈一", "陈三", "陈二"]
    votes = [{"member_id": branch[k].id, "grade": g} for k, g in VOTES["W"].items()]
    short = client.put("/api/v1/ballots/current", json={"self_assessment": "短", "votes": votes}, headers=member)
    assert short.status_code == 422 and "self_assessment" in short.get_json()["errors"]
    outsider = client.put("/api/v1/ballots/current", headers=member, json={
        "self_assessment": "本年度认真学习党章，参加志愿服务。", "votes": votes + [{"member_id": tree["members"]["b2_member"], "grade": E}]})
    assert outsider.status_code == 422
    twice = client.put("/api/v1/ballots/current", headers=member, json={
        "self_assessment": "本年度认真学习党章，参加志愿服务。", "votes": votes + votes[:1]})
    assert twice.status_code == 422
    huge = client.put("/api/v1/ballots/current", headers=member, json={
        "self_assessment": "本年度认真学习党章，参加志愿服务。", "votes": [{"member_id": 2**31, "grade": E}]})
    assert huge.status_code == 422
    done = client.put("/api/v1/ballots/current", json={"self_assessment": "本年度认真学习党章，参加志愿服务。", "votes": votes},
                      headers=member)
    assert done.status_code == 200 and done.get_json()["submitted"] is True
    assert {c["name"]: c["my_grade"] for c in done.get_json()["candidates"]} == {
        "李书记": E, "陈一": E, "陈二": Q, "陈三": BQ}
    committee = {"Authorization": f"Bearer {token_for(client, 'orgadmin')}"}
    listing = client.get("/api/v1/evaluations/ballots", headers=committee).get_json()["items"]
    assert listing[0]["state"] == "open" and {t["branch"]: t["voted"] for t in listing[0]["turnout"]} == {"一支部": 1, "二支部": 0}
    early = client.get(f"/api/v1/evaluations/ballots/{window.id}/results?branch={tree['orgs']['B1']}", headers=committee)
    assert early.status_code == 409
    vote_all(db, branch)
    clock.move_to(AFTER)
    committee = {"Authorization": f"Bearer {token_for(client, 'orgadmin')}"}
    results = client.get(f"/api/v1/evaluations/ballots/{window.id}/results?branch={tree['orgs']['B1']}", headers=committee)
    body = results.get_json()
    assert {i["name"]: i["counts"][E] for i in body["items"]} == {"李书记": 5, "王党员": 4, "陈一": 4, "陈二": 0, "陈三": 0}
    text = results.get_data(as_text=True)
    assert "voter" not in text and "token" not in text  # counts only
    assert client.get(f"/api/v1/evaluations/ballots/{window.id}/results?branch={tree['orgs']['B3']}",
                      headers=committee).status_code == 404  # not under GB
