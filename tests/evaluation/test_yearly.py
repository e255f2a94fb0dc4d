"""年考评 of 2026 for the committee C (branches B1, B2, B3), worked by hand; the clock at 10 January 2027.

Points (scoring.yaml: points per appraised member + 0.5 × participation% + own points; manual bonuses are not
participation): B1 30 over 3 appraised members = 10; B2 10 over 2 = 5; B3 10 over 2 (周三支 is an activist) = 5.
Parts (yearly.yaml, of 110): points 40 × score / best → 40, 20, 20.  Inspections: B1 four quarters scored 10 + 10
on the entered items and 10 for its reports, all on time (nothing held, studied or taken part in: the other
computed items are 0) = 120 of 400 → 50 × 120/400 = 15; B2 (Q4) and B3 (Q2) one quarter of 6 + 6, no report of
theirs in it → 50 × 12/400 = 1.5.  Reports: B1 12 on time → 20; B2 and B3 6 → 10.  Scores: B1 75, B2 and B3 31.5.
"""
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

import pytest
import sqlalchemy as sa
import time_machine

from learning.accounts.models import Account
from learning.audit.models import AuditEntry
from learning.evaluation import inspections, reports, yearly
from learning.evaluation.models import YearlyResult
from learning.orgs.models import Member, Organisation
from learning.points.snapshots import close_period
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, give_points

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2027, 1, 10, 10, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def get(db, model, key):
    return db.session.get(model, key)


@pytest.fixture
def year(db, tree, rules):
    admin = get(db, Account, tree["accounts"]["superadmin"])
    june = datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    for key, pts in (("b1_secretary", 30), ("b2_member", 10), ("orgadmin", 10)):
        give_points(get(db, Member, tree["members"][key]), pts, admin, occurred_at=june)
    writers = {"B1": "secretary", "B2": "secretary2"}
    b3 = get(db, Organisation, tree["orgs"]["B3"])
    from learning.accounts.models import Role
    from learning.accounts.services import create_account

    create_account("b3secretary", PASSWORD, role=Role.BRANCH_SECRETARY, organisation=b3, display_name="三支部书记")
    accounts = {k: get(db, Account, tree["accounts"][v]) for k, v in writers.items()}
    accounts["B3"] = db.session.scalar(sa.select(Account).where(Account.username == "b3secretary"))
    for key, months in (("B1", range(1, 13)), ("B2", range(1, 7)), ("B3", range(7, 13))):
        for m in months:
            due_day = datetime(2026 + (m == 12), m % 12 + 1, 3, 10, tzinfo=SHANGHAI)
            reports.save(accounts[key], get(db, Organisation, tree["orgs"][key]), f"2026-{m:02d}", "本月工作情况说明如下。",
                         submit=True, now=due_day)
    inspector = get(db, Account, tree["accounts"]["superadmin"])
    plan = {"B1": (("2026Q1", "2026Q2", "2026Q3", "2026Q4"), "10"), "B2": (("2026Q4",), "6"), "B3": (("2026Q2",), "6")}
    for key, (quarters, score) in plan.items():
        for quarter in quarters:
            inspection = inspections.start(inspector, get(db, Organisation, tree["orgs"][key]), quarter, date(2027, 1, 10))
            for item in inspection.items:
                if item.computed and item.code != "report_punctuality":
                    assert item.score == 0, (key, quarter, item.code, item.score)
            inspections.save(inspector, inspection, {"ledger_quality": (score, "评语"), "branch_features": (score, "评语")},
                             publish=True)
    db.session.commit()
    close_period("2026", actor=admin, today=date(2027, 1, 2))
    db.session.commit()
    return get(db, Organisation, tree["orgs"]["C"])


def table(rows):
    return [(r.branch, r.points_part, r.inspections_part, r.reports_part, r.score, r.stars, r.rank) for r in rows]


def test_the_years_parts_scores_and_stars_are_what_the_hand_gives(db, tree, year):
    rows = yearly.compute(year, 2026)
    # Stars (yearly.yaml): 75 → 3; 31.5 → 1.  Equal scores share a rank, listed by name.
    assert table(rows) == [("一支部", 40.0, 15.0, 20.0, 75.0, 3, 1), ("三支部", 20.0, 1.5, 10.0, 31.5, 1, 2),
                           ("二支部", 20.0, 1.5, 10.0, 31.5, 1, 2)]
    assert [(r.ranking_score, r.inspection_points, r.reports_on_time) for r in rows] == [
        (10.0, 120.0, 12), (5.0, 12.0, 6), (5.0, 12.0, 6)]


@pytest.mark.parametrize("share, stars", [
    (Fraction(1), [5, 5, 5]),  # no cap
    (Fraction(2, 3), [5, 4, 4]),  # two places: B1, then the tie of two does not fit and drops whole
    (Fraction(1, 3), [5, 4, 4]),
    (Fraction(1, 5), [4, 4, 4]),  # no place for any of three branches
])
def test_five_stars_are_capped_and_a_tie_at_the_edge_drops_whole(db, tree, year, monkeypatch, share, stars):
    scale = dict(yearly.settings(), stars=[(5, 30.0), (4, 20.0), (3, 10.0), (2, 5.0), (1, 0.0)], five_star_share=share)
    monkeypatch.setattr(yearly, "settings", lambda: scale)
    assert [r.stars for r in yearly.compute(year, 2026)] == stars


def test_the_committee_confirms_once_and_the_result_is_frozen_and_verifiable(client, db, tree, year):
    login(client, "orgadmin", PASSWORD)  # GB: may not confirm C's year
    token = csrf_token(client, "/admin/evaluation/years/")
    assert client.post(f"/admin/evaluation/years/confirm?org={tree['orgs']['C']}&year=2026",
                       data={"csrf_token": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    login(client, "root", PASSWORD)
    token = csrf_token(client, f"/admin/evaluation/years/?org={tree['orgs']['C']}&year=2026")
    done = client.post(f"/admin/evaluation/years/confirm?org={tree['orgs']['C']}&year=2026", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "2026 年度考评结果已确认并锁定。" in done and "重新计算结果一致。" in done
    result = db.session.scalar(sa.select(YearlyResult))
    assert [r["score"] for r in result.rows] == [75.0, 31.5, 31.5] and yearly.verify(result) == []
    again = client.post(f"/admin/evaluation/years/confirm?org={tree['orgs']['C']}&year=2026", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "2026 年度考评已经确认过了。" in again
    assert db.session.scalar(sa.select(AuditEntry.detail).where(AuditEntry.action == "evaluation.year_confirmed"))["branches"] == 3
    # Tampered rows are caught, and so are inputs that moved.
    result.rows = [dict(result.rows[0], score=99.0)] + result.rows[1:]
    db.session.commit()
    problems = yearly.verify(result)
    assert problems == ["存档数据与校验码不一致。", "按冻结的数据重新计算，结果与存档不一致。"]


def test_a_year_still_open_cannot_be_confirmed(db, tree, rules):
    with pytest.raises(yearly.YearError) as refused:
        yearly.confirm(get(db, Account, tree["accounts"]["superadmin"]), get(db, Organisation, tree["orgs"]["C"]), 2026)
    assert "请先结算 2026 年度" in str(refused.value.message)


def test_the_year_prints_and_exports(client, db, tree, year):
    import io

    from openpyxl import load_workbook

    login(client, "reviewer", PASSWORD)
    page = client.get(f"/admin/evaluation/years/?org={tree['orgs']['C']}&year=2026").get_data(as_text=True)
    assert "中共测试委员会 2026 年度考评" in page and "党委书记签字" in page and "确认并锁定" not in page
    book = load_workbook(io.BytesIO(client.get(f"/admin/evaluation/years/export?org={tree['orgs']['C']}&year=2026").data))
    rows = [[c.value for c in row] for row in book.active.iter_rows()]
    assert rows[2][:7] == ["排名", "党支部", "积分得分", "季度督查得分", "月报告得分", "得分", "星级"]
    assert rows[3][:7] == [1, "一支部", 40, 15, 20, 75, 3]
    assert client.get("/admin/evaluation/years/?year=1999").status_code == 404


def test_the_api_gives_the_year(client, db, tree, year):
    from tests.api.test_api import token_for

    headers = {"Authorization": f"Bearer {token_for(client, 'reviewer')}"}
    body = client.get(f"/api/v1/evaluations/years?org={tree['orgs']['C']}&year=2026", headers=headers).get_json()
    assert body["confirmed"] is False and body["checksum"] is None
    assert [(r["branch"], r["score"], r["stars"]) for r in body["rows"]] == [("一支部", 75.0, 3), ("三支部", 31.5, 1),
                                                                             ("二支部", 31.5, 1)]
    yearly.confirm(get(db, Account, tree["accounts"]["superadmin"]), year, 2026)
    db.session.commit()
    body = client.get(f"/api/v1/evaluations/years?org={tree['orgs']['C']}&year=2026", headers=headers).get_json()
    assert body["confirmed"] is True and body["verified"] is True and len(body["checksum"]) == 64
    assert client.get("/api/v1/evaluations/years?year=1999", headers=headers).status_code == 422
    assert client.get(f"/api/v1/evaluations/years?org={tree['orgs']['OTHER']}", headers=headers).status_code == 404
